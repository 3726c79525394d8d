// Idempotency-Key while the first request is still running: it is held in flight by a row lock
// that a test connection takes on its target membership (the removal's locking read waits for
// it), so its transaction holds the key. A retry then answers 409 at once; once the first
// commits, a retry gets its answer. A first request that dies with the database connection
// (a 5xx) leaves the key free for a retry. Needs PostgreSQL: the embedded database serves one
// session at a time.
import { orgOf, reseed, testDb, tokenOf } from "@roster/api/testing";
import type { DemoManifest } from "@roster/contract";
import { afterEach, beforeEach, describe, expect, inject, it } from "vitest";
import { HeldTransaction } from "./support/held-transaction";
import { membershipsPath, type RawResponse, sendRaw } from "./support/http";

const onPostgres = inject("databaseKind") === "postgres";

/** A lock on membership rows, taken in a transaction of the test's own and held until it ends. */
async function lockRows(ids: string[]): Promise<HeldTransaction> {
  const held = await HeldTransaction.begin();
  const locked = await held.query("SELECT id FROM org_memberships WHERE id = ANY($1::uuid[]) FOR UPDATE", [ids]);
  expect(locked.rowCount).toBe(ids.length);
  return held;
}

describe("Idempotency-Key: a request still running", () => {
  if (!onPostgres) {
    it.skip("runs only on PostgreSQL (DATABASE_URL): the embedded database serves a single session", () => {});
    return;
  }

  let manifest: DemoManifest;
  let lock: HeldTransaction | null = null;
  beforeEach(async () => {
    manifest = await reseed();
  });
  afterEach(async () => {
    await lock?.end("ROLLBACK").catch(() => {});
    lock = null;
  });

  const acme = () => orgOf(manifest, "acme");
  const id = (email: string) => acme().members.find((m) => m.email === email)?.membershipId as string;
  const remove = (ids: string[], key: string, email = "admin@acme.test"): Promise<RawResponse> =>
    sendRaw({
      method: "DELETE",
      path: membershipsPath(acme().id),
      headers: {
        authorization: `Bearer ${tokenOf(manifest, "acme", email)}`,
        "content-type": "application/json",
        "idempotency-key": `"${key}"`,
      },
      body: JSON.stringify({ membershipIds: ids }),
    });

  it("a retry while the first runs answers 409 with Retry-After; once it commits, the retry gets its answer", async () => {
    const target = id("user020@acme.test");
    lock = await lockRows([target]);
    const first = remove([target], "in-flight");
    expect(await lock.waiters()).toHaveLength(1);

    const retry = await remove([target], "in-flight");
    expect(retry.status).toBe(409);
    expect(retry.body).toEqual({
      reqId: retry.headers.get("x-request-id"),
      statusCode: 409,
      error: "Conflict",
      message: "A request with this Idempotency-Key is still being processed. Retry once it has finished.",
    });
    expect(retry.headers.get("retry-after")).toBe("1");
    expect(retry.headers.get("idempotent-replayed")).toBeNull();
    // Another request under the key is refused for what it is, running or not.
    expect((await remove([id("user021@acme.test")], "in-flight")).status).toBe(422);
    // Another caller's same key is not held.
    expect((await remove([id("user022@acme.test")], "in-flight", "admin2@acme.test")).status).toBe(200);

    await lock.end("ROLLBACK");
    lock = null;
    const answer = await first;
    expect(answer.status, answer.text).toBe(200);
    const late = await remove([target], "in-flight");
    expect(late.status).toBe(200);
    expect(late.text).toBe(answer.text);
    expect(late.headers.get("idempotent-replayed")).toBe("true");
    expect(late.headers.get("x-request-id")).toBe(answer.headers.get("x-request-id"));
    const db = await testDb();
    expect(await db.auditEvent.count({ where: { targetId: target } })).toBe(1);
  });

  it("a first request that fails with the database connection leaves the key free: the retry runs", async () => {
    const target = id("user023@acme.test");
    lock = await lockRows([target]);
    const first = remove([target], "crash");
    const [waiter] = await lock.waiters();
    // The server's session running the removal dies mid-transaction, as in a crash of it.
    await lock.terminate(waiter as number);
    const failed = await first;
    expect(failed.status).toBeGreaterThanOrEqual(500);
    await lock.end("ROLLBACK");
    lock = null;

    const db = await testDb();
    // Nothing committed: the membership is there and the key is still only claimed.
    expect(await db.orgMembership.count({ where: { id: target } })).toBe(1);
    expect(await db.idempotencyKey.findMany({ where: { key: "crash" }, select: { status: true } })).toEqual([
      { status: "in_progress" },
    ]);
    const retry = await remove([target], "crash");
    expect(retry.status, retry.text).toBe(200);
    expect(retry.headers.get("idempotent-replayed")).toBeNull();
    expect(await db.orgMembership.count({ where: { id: target } })).toBe(0);
    const replay = await remove([target], "crash");
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
  });
});
