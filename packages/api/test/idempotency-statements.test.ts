// What an Idempotency-Key costs a removal, in statements (docs/idempotency.md): a first request
// adds the claim before its transaction, and the lock, the savepoint and the stored answer inside
// it; a replay is the claim and one read, with no transaction. Counted on a client of its own whose
// every statement is reported (openDb's onQuery), as bulk-delete-statements.test.ts does.
import { getConfig } from "@roster/config";
import type { DbHandle } from "@roster/db";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { verifyBearer } from "../src/auth/caller";
import { bulkDeleteMemberships } from "../src/services/bulk-delete-memberships";
import type { IdempotentRequest } from "../src/services/idempotency";
import { memberOf, openTestDb, reseed, tokenOf } from "./support";

describe("Idempotency-Key: statements of a removal", () => {
  let handle: DbHandle;
  let recording: string[] | null = null;
  beforeAll(async () => {
    handle = await openTestDb({ onQuery: (sql) => recording?.push(sql) });
  });
  afterAll(async () => {
    await handle?.close();
  });

  it("a first request: claim, then BEGIN, lock, savepoint, the removal's 2, the answer, COMMIT; a replay: 2", async () => {
    const manifest = await reseed();
    const prisma = handle.prisma;
    const caller = await verifyBearer(
      prisma,
      `Bearer ${tokenOf(manifest, "acme", "admin@acme.test")}`,
      getConfig().authSecret,
    );
    const ids = ["user040@acme.test", "user041@acme.test"].map((e) => memberOf(manifest, "acme", e).membershipId);
    const replays: string[] = [];
    const key = (reqId: string): IdempotentRequest => ({
      key: "statements",
      caller,
      operation: "organizations.bulkDeleteMemberships",
      input: { organizationId: caller.organizationId, membershipIds: ids },
      reqId,
      onReplay: (original) => replays.push(original),
    });
    const origin = (reqId: string) => ({ reqId, ip: null, userAgent: "statements-test" });

    const run = async (reqId: string) => {
      const sent: string[] = [];
      recording = sent;
      try {
        const out = await bulkDeleteMemberships(prisma, caller, ids, origin(reqId), key(reqId));
        return { sent, out };
      } finally {
        recording = null;
      }
    };

    const first = await run("req-idemStatement1");
    expect(first.out.memberships.map((m) => m.id)).toEqual(ids);
    const kinds = first.sent.map((s) => s.trim().split(/\s+/)[0]?.toUpperCase());
    expect(kinds, JSON.stringify(first.sent)).toEqual([
      "WITH", // the claim (with its purge), autocommitted
      "BEGIN",
      "SELECT", // the key's lock
      "SAVEPOINT",
      "SELECT", // the removal's locking read
      "WITH", // the removal's one writing statement
      "UPDATE", // the stored answer
      "COMMIT",
    ]);

    const again = await run("req-idemStatement2");
    expect(again.out).toEqual(first.out);
    expect(replays).toEqual(["req-idemStatement1"]);
    expect(again.sent.map((s) => s.trim().split(/\s+/)[0]?.toUpperCase())).toEqual(["WITH", "SELECT"]);
  });
});
