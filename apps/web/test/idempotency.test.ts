// Safe retries (IETF httpapi-idempotency-key-header draft) on the real server over HTTP: the REST
// removal and restore, and tRPC mutations. What a client sees: the first answer again, marked
// as a replay and carrying the first request's id; 422 for another request under the key; 400
// for a key that is no sf-string; keys scoped to their caller and kept 24 h. Requests held in
// flight are in idempotency-locking.test.ts.
import { orgOf, REQ_ID, reseed, testDb, tokenOf } from "@roster/api/testing";
import type { DemoManifest } from "@roster/contract";
import { beforeEach, describe, expect, it } from "vitest";
import { membershipsPath, type RawResponse, sendRaw } from "./support/http";
import { identityBearer } from "./support/identities";

const ADMIN = "admin@acme.test";
const ADMIN2 = "admin2@acme.test";
const MEMBER = "member@acme.test";
const REMOVER = "remover@acme.test";
const REUSED =
  "This Idempotency-Key was already used for a different request (another operation, organization or body). Use a new key for a new request.";

let manifest: DemoManifest;
beforeEach(async () => {
  manifest = await reseed();
});

const acme = () => orgOf(manifest, "acme");
const id = (email: string) => {
  const m = acme().members.find((x) => x.email === email);
  if (!m) throw new Error(`no ${email}`);
  return m.membershipId;
};
const bearer = (email: string) => `Bearer ${tokenOf(manifest, "acme", email)}`;
/** A key as the header carries it: an sf-string. */
const sf = (key: string) => `"${key}"`;

function headers(authorization: string | null, key?: string): Record<string, string> {
  return {
    "content-type": "application/json",
    ...(authorization ? { authorization } : {}),
    ...(key !== undefined ? { "idempotency-key": key } : {}),
  };
}

function remove(authorization: string | null, ids: string[], key?: string): Promise<RawResponse> {
  return sendRaw({
    method: "DELETE",
    path: membershipsPath(acme().id),
    headers: headers(authorization, key),
    body: JSON.stringify({ membershipIds: ids }),
  });
}

function restore(authorization: string, body: Record<string, unknown>, key?: string): Promise<RawResponse> {
  return sendRaw({
    method: "POST",
    path: `${membershipsPath(acme().id)}/restore`,
    headers: headers(authorization, key),
    body: JSON.stringify(body),
  });
}

function trpcMutation(procedure: string, authorization: string, input: unknown, key?: string): Promise<RawResponse> {
  return sendRaw({
    method: "POST",
    path: `/api/trpc/${procedure}`,
    headers: headers(authorization, key),
    body: JSON.stringify(input),
  });
}

const replayed = (res: RawResponse) => res.headers.get("idempotent-replayed");
const reqIdOf = (res: RawResponse) => res.headers.get("x-request-id");

async function exists(...ids: string[]): Promise<number> {
  return (await testDb()).orgMembership.count({ where: { id: { in: ids } } });
}

async function removedEvents(): Promise<{ batchId: string | null; targetId: string | null }[]> {
  return (await testDb()).auditEvent.findMany({
    where: { orgId: acme().id, eventType: "organization.membership.deleted" },
    select: { batchId: true, targetId: true },
  });
}

describe("Idempotency-Key on the REST removal", () => {
  it("a retry with the same key and body gets the first answer again, marked, and removes nothing more", async () => {
    const ids = [id("user001@acme.test"), id("user002@acme.test")];
    const first = await remove(bearer(ADMIN), ids, sf("batch-1"));
    expect(first.status, first.text).toBe(200);
    expect(replayed(first)).toBeNull();
    expect(reqIdOf(first)).toMatch(REQ_ID);

    const again = await remove(bearer(ADMIN), ids, sf("batch-1"));
    expect(again.status).toBe(200);
    expect(again.text).toBe(first.text);
    expect(replayed(again)).toBe("true");
    expect(reqIdOf(again)).toBe(reqIdOf(first));
    expect(again.headers.get("ratelimit")).not.toBeNull();

    // One removal happened, named by the first request's id.
    expect(await removedEvents()).toEqual(
      expect.arrayContaining(ids.map((targetId) => ({ batchId: reqIdOf(first), targetId }))),
    );
    expect(await removedEvents()).toHaveLength(2);
    // Without the key, the same request is a new one: those ids are gone.
    const fresh = await remove(bearer(ADMIN), ids);
    expect(fresh.status).toBe(404);
    expect(replayed(fresh)).toBeNull();

    const [row] = await (await testDb()).$queryRaw<{ status: string; ttl: number; responseStatus: number }[]>`
      SELECT status, extract(epoch FROM expires_at - created_at)::int AS ttl, response_status AS "responseStatus"
      FROM idempotency_keys WHERE key = 'batch-1'`;
    expect(row).toEqual({ status: "done", ttl: 24 * 3600, responseStatus: 200 });
  });

  it("the same key with a different request answers 422 UnprocessableContent and changes nothing", async () => {
    const first = await remove(bearer(ADMIN), [id("user001@acme.test")], sf("k-422"));
    expect(first.status).toBe(200);
    const other = await remove(bearer(ADMIN), [id("user002@acme.test")], sf("k-422"));
    expect(other.status).toBe(422);
    expect(other.body).toEqual({
      reqId: reqIdOf(other),
      statusCode: 422,
      error: "UnprocessableContent",
      message: REUSED,
    });
    expect(reqIdOf(other)).not.toBe(reqIdOf(first));
    expect(replayed(other)).toBeNull();
    expect(await exists(id("user002@acme.test"))).toBe(1);
    // Another operation under the key is another request too.
    const elsewhere = await restore(bearer(ADMIN), { batchId: reqIdOf(first) }, sf("k-422"));
    expect(elsewhere.status).toBe(422);
    expect(await exists(id("user001@acme.test"))).toBe(0);
  });

  it("a refused first request is stored and replayed, even once it would now succeed", async () => {
    // A custom role that may delete members, but not an admin (check 12, inside the transaction).
    const target = id(ADMIN2);
    const refused = await remove(bearer(REMOVER), [target], sf("k-403"));
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ error: "PermissionBoundaryError" });

    // The caller becomes an admin: the same request would now remove the target.
    await (await testDb()).orgMembership.update({ where: { id: id(REMOVER) }, data: { role: "admin", roleId: null } });
    const again = await remove(bearer(REMOVER), [target], sf("k-403"));
    expect(again.status).toBe(403);
    expect(again.body).toEqual({ ...(refused.body as object), reqId: reqIdOf(refused) });
    expect(replayed(again)).toBe("true");
    expect(reqIdOf(again)).toBe(reqIdOf(refused));
    expect(await exists(target)).toBe(1);

    const newKey = await remove(bearer(REMOVER), [target], sf("k-403-2"));
    expect(newKey.status).toBe(200);
  });

  it("a refusal at check 9 is answered before the key is looked up, and stores nothing", async () => {
    const refused = await remove(bearer(MEMBER), [id("user003@acme.test")], sf("k-check-9"));
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({
      error: "PermissionDenied",
      message: "You are not allowed to delete on member",
    });
    expect(await (await testDb()).idempotencyKey.count({ where: { key: "k-check-9" } })).toBe(0);
  });

  it("keys are the caller's own: another caller's same key is another key", async () => {
    const a = id("user004@acme.test");
    const first = await remove(bearer(ADMIN), [a], sf("shared"));
    expect(first.status).toBe(200);
    // Another user, same key and body: runs (and finds the membership gone), no replay.
    const other = await remove(bearer(ADMIN2), [a], sf("shared"));
    expect(other.status).toBe(404);
    expect(replayed(other)).toBeNull();
    // A machine identity, same key, another body: its own key, no 422.
    const identity = acme().identities.find((i) => i.name === "deprovisioner");
    if (!identity) throw new Error("no deprovisioner identity");
    const job = await remove(await identityBearer(identity), [id("user005@acme.test")], sf("shared"));
    expect(job.status, job.text).toBe(200);
    expect(await (await testDb()).idempotencyKey.count({ where: { key: "shared" } })).toBe(3);
  });

  it("a key past its 24 h is free again, and expired keys are purged", async () => {
    const db = await testDb();
    const first = await remove(bearer(ADMIN), [id("user006@acme.test")], sf("k-old"));
    expect(first.status).toBe(200);
    const stale = await remove(bearer(ADMIN2), [id("user007@acme.test")], sf("k-other"));
    expect(stale.status).toBe(200);
    await db.$executeRaw`UPDATE idempotency_keys SET expires_at = now() - interval '1 second'`;

    // Expired: a different body under the key is a new request, not a 422.
    const reused = await remove(bearer(ADMIN), [id("user008@acme.test")], sf("k-old"));
    expect(reused.status, reused.text).toBe(200);
    expect(replayed(reused)).toBeNull();
    const again = await remove(bearer(ADMIN), [id("user008@acme.test")], sf("k-old"));
    expect(replayed(again)).toBe("true");
    expect(reqIdOf(again)).toBe(reqIdOf(reused));
    // That claim also purged the other caller's expired key.
    expect(await db.idempotencyKey.findMany({ select: { key: true } })).toEqual([{ key: "k-old" }]);
  });

  it("a key that is no sf-string, empty or over 255 characters answers 400, before the body is read", async () => {
    const target = id("user009@acme.test");
    const cases: [string, string][] = [
      ["", "Idempotency-Key must not be empty"],
      ['""', "Idempotency-Key must not be empty"],
      [sf("x".repeat(256)), "Idempotency-Key must be at most 255 characters"],
      [
        "plain-token",
        'Idempotency-Key must be a quoted string (RFC 8941), for example "8e03978e-40d5-43e8-bc93-6894a57f9324"',
      ],
      ['"unterminated', ""],
      ['"a\\x"', ""],
      ['"a", "b"', ""],
      ['"a";p=1', ""],
      ['"tab\there"', ""],
    ];
    for (const [key, message] of cases) {
      const res = await remove(bearer(ADMIN), [target], key);
      expect(res.status, key).toBe(400);
      expect(res.body).toMatchObject({ error: "BadRequest", statusCode: 400 });
      if (message) expect((res.body as { message: string }).message, key).toBe(message);
      else expect((res.body as { message: string }).message, key).toMatch(/^Idempotency-Key must be a quoted string/);
    }
    // Not even JSON: the key is refused first.
    const badBoth = await sendRaw({
      method: "DELETE",
      path: membershipsPath(acme().id),
      headers: headers(bearer(ADMIN), "nope"),
      body: "{",
    });
    expect(badBoth.body).toMatchObject({ statusCode: 400, message: expect.stringMatching(/^Idempotency-Key/) });
    // Authentication comes first.
    expect((await remove(null, [target], "nope")).status).toBe(401);
    expect(await exists(target)).toBe(1);

    // 255 characters, and escapes, are keys.
    expect((await remove(bearer(ADMIN), [target], sf("y".repeat(255)))).status).toBe(200);
    expect((await remove(bearer(ADMIN), [id("user010@acme.test")], '  "q\\"uote\\\\d"  ')).status).toBe(200);
    expect(await (await testDb()).idempotencyKey.count({ where: { key: 'q"uote\\d' } })).toBe(1);
    // A read ignores it.
    const list = await sendRaw({
      method: "GET",
      path: membershipsPath(acme().id),
      headers: headers(bearer(ADMIN), "nope"),
    });
    expect(list.status).toBe(200);
  });
});

describe("Idempotency-Key on the REST restore", () => {
  it("replays a restore, and a new key runs it again (already restored)", async () => {
    const ids = [id("user011@acme.test"), id("user012@acme.test")];
    const removal = await remove(bearer(ADMIN), ids);
    expect(removal.status).toBe(200);
    const batchId = reqIdOf(removal);

    const first = await restore(bearer(ADMIN), { batchId }, sf("undo-1"));
    expect(first.status, first.text).toBe(200);
    expect(await exists(...ids)).toBe(2);
    const again = await restore(bearer(ADMIN), { batchId }, sf("undo-1"));
    expect(again.status).toBe(200);
    expect(again.text).toBe(first.text);
    expect(replayed(again)).toBe("true");
    expect(reqIdOf(again)).toBe(reqIdOf(first));
    const restoredEvents = await (await testDb()).auditEvent.count({
      where: { eventType: "organization.membership.restored" },
    });
    expect(restoredEvents).toBe(2);

    const fresh = await restore(bearer(ADMIN), { batchId }, sf("undo-2"));
    expect(fresh.status).toBe(409);
    expect(fresh.body).toMatchObject({ error: "Conflict", details: expect.arrayContaining([expect.anything()]) });
    expect(replayed(fresh)).toBeNull();
  });
});

describe("Idempotency-Key on tRPC", () => {
  const BULK_DELETE = "organizations.bulkDeleteMemberships";

  it("a mutation takes the header: replayed over tRPC, and over REST for the same request", async () => {
    const ids = [id("user013@acme.test")];
    const input = { organizationId: acme().id, membershipIds: ids };
    const first = await trpcMutation(BULK_DELETE, bearer(ADMIN), input, sf("t-1"));
    expect(first.status, first.text).toBe(200);
    expect(replayed(first)).toBeNull();
    const again = await trpcMutation(BULK_DELETE, bearer(ADMIN), input, sf("t-1"));
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
    expect(replayed(again)).toBe("true");
    expect(reqIdOf(again)).toBe(reqIdOf(first));
    // REST calls the same procedure with the same input: the same request.
    const viaRest = await remove(bearer(ADMIN), ids, sf("t-1"));
    expect(viaRest.status).toBe(200);
    expect(replayed(viaRest)).toBe("true");
    expect(viaRest.body).toEqual((first.body as { result: { data: unknown } }).result.data);

    const other = await trpcMutation(BULK_DELETE, bearer(ADMIN), { ...input, membershipIds: [] }, sf("t-1"));
    expect(other.status).toBe(422);
    expect(other.body).toMatchObject({
      error: { message: REUSED, data: { httpStatus: 422, error: "UnprocessableContent", reqId: reqIdOf(other) } },
    });
  });

  it("a replayed refusal carries the first request's id; bad keys, batches and other mutations answer 400", async () => {
    const input = { organizationId: acme().id, membershipIds: [id(ADMIN)] };
    const first = await trpcMutation(BULK_DELETE, bearer(ADMIN), input, sf("t-own"));
    expect(first.status).toBe(400);
    const again = await trpcMutation(BULK_DELETE, bearer(ADMIN), input, sf("t-own"));
    expect(again.status).toBe(400);
    expect(replayed(again)).toBe("true");
    expect(again.body).toMatchObject({ error: { data: { error: "BadRequest", reqId: reqIdOf(first) } } });

    const bad = await trpcMutation(BULK_DELETE, bearer(ADMIN), input, "no-quotes");
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ error: { message: expect.stringMatching(/^Idempotency-Key must be a quoted/) } });

    const preview = await trpcMutation("organizations.previewBulkDeleteMemberships", bearer(ADMIN), input, sf("p"));
    expect(preview.status).toBe(400);
    expect(preview.body).toMatchObject({
      error: { message: "organizations.previewBulkDeleteMemberships does not take an Idempotency-Key header" },
    });

    const batch = await sendRaw({
      method: "POST",
      path: `/api/trpc/${BULK_DELETE},${BULK_DELETE}?batch=1`,
      headers: headers(bearer(ADMIN), sf("b")),
      body: JSON.stringify({ 0: input, 1: input }),
    });
    expect(batch.status).toBe(400);
    expect(batch.text).toContain("An Idempotency-Key applies to one call");
    expect(await exists(id(ADMIN))).toBe(1);
  });
});
