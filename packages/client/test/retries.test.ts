// The clients' safe retries against the running app: a removal whose answer is lost after the
// server committed it (the connection cut, or a gateway's 504) is sent again with the same
// Idempotency-Key, gets the stored answer, and nothing is removed twice. Through a lossy proxy
// (lossy-proxy.ts) on the loopback address; a timeout is made by holding the target's row lock.
import { memberOf, orgOf, reseed, testDb, tokenOf } from "@roster/api/testing";
import type { DemoManifest } from "@roster/contract";
import pg from "pg";
import { afterEach, beforeEach, describe, expect, inject, it } from "vitest";
import { createRosterClient } from "../src/index";
import {
  bulkDeleteOrgMemberships,
  createRosterRestClient,
  type RetryOptions,
  RosterApiError,
  restoreOrgMemberships,
} from "../src/rest";
import { type LossyProxy, lossyProxy, type Spoil } from "./lossy-proxy";

let manifest: DemoManifest;
let proxies: LossyProxy[] = [];
beforeEach(async () => {
  manifest = await reseed();
});
afterEach(async () => {
  await Promise.all(proxies.map((p) => p.close()));
  proxies = [];
});

const acme = () => orgOf(manifest, "acme");
const id = (email: string) => memberOf(manifest, "acme", email).membershipId;
const token = () => tokenOf(manifest, "acme", "admin@acme.test");
const FAST: RetryOptions = { baseDelayMs: 20, maxDelayMs: 50 };

/** A proxy that spoils the first request of `method` with `how`. */
async function spoilFirst(method: string, how: Spoil): Promise<LossyProxy> {
  let spoiled = false;
  const proxy = await lossyProxy(inject("baseUrl"), (req) => {
    if (spoiled || req.method !== method) return null;
    spoiled = true;
    return how;
  });
  proxies.push(proxy);
  return proxy;
}

async function auditCount(targetId: string, eventType = "organization.membership.deleted"): Promise<number> {
  return (await testDb()).auditEvent.count({ where: { targetId, eventType } });
}

describe("the REST client's retries", () => {
  it.each([
    ["drop", "network error"],
    ["504", "504 answer"],
  ] as const)("an answer lost after the removal committed (%s) is retried and replayed", async (how, reason) => {
    const target = id("user030@acme.test");
    const via = await spoilFirst("DELETE", how);
    const retries: string[] = [];
    const rest = createRosterRestClient({
      baseUrl: via.url,
      token: token(),
      retry: { ...FAST, onRetry: (r) => retries.push(r.reason) },
    });
    const answer = await bulkDeleteOrgMemberships(rest, acme().id, [target]);
    expect(retries).toEqual([expect.stringContaining(reason)]);
    expect(via.seen.filter((s) => s.startsWith("DELETE"))).toHaveLength(2);
    expect(answer.replayed).toBe(true);
    expect(answer.memberships.map((m) => m.id)).toEqual([target]);
    expect(await auditCount(target)).toBe(1);
    // The replay carries the id of the request that removed it.
    const [event] = await (await testDb()).auditEvent.findMany({ where: { targetId: target } });
    expect(answer.reqId).toBe(event?.batchId);
  });

  it("honours Retry-After on a 429; a write without a key, or a refusal, is sent once", async () => {
    const via = await spoilFirst("DELETE", "429");
    const waits: number[] = [];
    const rest = createRosterRestClient({
      baseUrl: via.url,
      token: token(),
      retry: { ...FAST, maxDelayMs: 5000, onRetry: (r) => waits.push(r.delayMs) },
    });
    const answer = await bulkDeleteOrgMemberships(rest, acme().id, [id("user031@acme.test")]);
    expect(waits).toEqual([1000]);
    expect(answer.replayed).toBe(false);

    // Sent by hand without a key: not safe to repeat, so its 504 is the caller's to see.
    const bare = await spoilFirst("DELETE", "504");
    const once = createRosterRestClient({ baseUrl: bare.url, token: token(), retry: FAST });
    const result = await once.DELETE("/api/v2/organizations/{organizationId}/memberships", {
      params: { path: { organizationId: acme().id } },
      body: { membershipIds: [id("user032@acme.test")] },
    });
    expect(result.response.status).toBe(504);
    expect(bare.seen).toHaveLength(1);

    // A 404 is an answer, not a failure: no retry.
    const refused = await bulkDeleteOrgMemberships(once, acme().id, [id("user031@acme.test")]).catch((e) => e);
    expect(refused).toBeInstanceOf(RosterApiError);
    expect((refused as RosterApiError).status).toBe(404);
  });

  it("a restore whose answer is lost is retried and replayed", async () => {
    const ids = [id("user033@acme.test"), id("user034@acme.test")];
    const direct = createRosterRestClient({ baseUrl: inject("baseUrl"), token: token() });
    const removal = await bulkDeleteOrgMemberships(direct, acme().id, ids);
    const via = await spoilFirst("POST", "drop");
    const rest = createRosterRestClient({ baseUrl: via.url, token: token(), retry: FAST });
    const restored = await restoreOrgMemberships(rest, acme().id, { batchId: removal.reqId as string });
    expect(restored.replayed).toBe(true);
    expect(restored.memberships.map((m) => m.id).sort()).toEqual([...ids].sort());
    for (const m of ids) expect(await auditCount(m, "organization.membership.restored")).toBe(1);
  });

  // Holding a lock needs a second session: the embedded database serves one at a time.
  it.skipIf(inject("databaseKind") !== "postgres")(
    "an attempt that times out while the removal waits is retried: 409 while it runs, then the replay",
    async () => {
      const target = id("user035@acme.test");
      const lock = new pg.Client({ connectionString: inject("databaseUrl") });
      await lock.connect();
      try {
        await lock.query("BEGIN");
        await lock.query("SELECT id FROM org_memberships WHERE id = $1 FOR UPDATE", [target]);
        const reasons: string[] = [];
        let release: () => void = () => {};
        const released = new Promise<void>((resolve) => {
          release = resolve;
        });
        const rest = createRosterRestClient({
          baseUrl: inject("baseUrl"),
          token: token(),
          retry: {
            attempts: 100,
            timeoutMs: 500,
            baseDelayMs: 20,
            maxDelayMs: 100,
            onRetry: (r) => {
              reasons.push(r.reason);
              // Once a retry has found the first request still running, let it finish.
              if (r.reason.startsWith("409")) release();
            },
          },
        });
        const call = bulkDeleteOrgMemberships(rest, acme().id, [target]);
        await released;
        await lock.query("ROLLBACK");
        const answer = await call;
        expect(reasons[0]).toBe("no answer within 500 ms");
        expect(reasons).toContain("409 still running");
        expect(answer.replayed).toBe(true);
        expect(answer.memberships.map((m) => m.id)).toEqual([target]);
        expect(await auditCount(target)).toBe(1);
      } finally {
        await lock.end();
      }
    },
  );
});

describe("the tRPC client's retries", () => {
  it("gives each removal a key and retries it when the answer is lost", async () => {
    const target = id("user036@acme.test");
    const via = await spoilFirst("POST", "drop");
    const roster = createRosterClient({ baseUrl: via.url, token: token(), retry: FAST });
    const answer = await roster.organizations.bulkDeleteMemberships.mutate({
      organizationId: acme().id,
      membershipIds: [target],
    });
    // Without the key, the retry would have found the membership gone (404).
    expect(answer.memberships.map((m) => m.id)).toEqual([target]);
    expect(via.seen).toEqual([
      "POST /api/trpc/organizations.bulkDeleteMemberships",
      "POST /api/trpc/organizations.bulkDeleteMemberships",
    ]);
    expect(await auditCount(target)).toBe(1);

    // A mutation that takes no key is not retried.
    const other = await spoilFirst("POST", "504");
    const once = createRosterClient({ baseUrl: other.url, token: token(), retry: FAST });
    const preview = await once.organizations.previewBulkDeleteMemberships
      .mutate({ organizationId: acme().id, membershipIds: [id("user037@acme.test")] })
      .catch((e: unknown) => e);
    expect(preview).toBeInstanceOf(Error);
    expect(other.seen).toHaveLength(1);
  });
});
