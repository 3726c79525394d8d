// What a removal locks (contract: "What a 200 does"): the rows it deletes and the caller's own
// membership always, the organization only when an active admin is among the targets. A removal
// transaction is held open from here with `pg`, running the statements the service runs, and
// real requests over HTTP are sent past it: those it must not stop complete, those it must stop
// are seen waiting on its locks in pg_stat_activity, then finish once it commits.
// Needs PostgreSQL: the embedded database serves a single session, so nothing would overlap.

import { MSG, memberOf, orgOf, reseed, testDb, tokenOf } from "@roster/api/testing";
import type { DemoManifest } from "@roster/contract";
import { afterEach, beforeEach, describe, expect, inject, it } from "vitest";
import { fixtures, grantEverything } from "./support/fixtures";
import { HeldTransaction } from "./support/held-transaction";
import { type Answer, restDelete } from "./support/races";
import { activeAdminIds } from "./support/snapshots";

const LAST_ADMIN = MSG.lastAdmin;
const onPostgres = inject("databaseKind") === "postgres";

/** A request in flight, and whether it has answered yet. */
function inFlight(p: Promise<Answer>): { answer: Promise<Answer>; settled: () => boolean } {
  let done = false;
  const answer = p.finally(() => {
    done = true;
  });
  return { answer, settled: () => done };
}

/**
 * A removal held open: the same locks as the service, in the same order (the rows in ascending
 * id order, then the organization when an active admin is among them), and the delete.
 */
async function holdRemoval(orgId: string, ids: string[], opts: { orgLock: boolean }): Promise<HeldTransaction> {
  const held = await HeldTransaction.begin();
  const locked = await held.query(
    "SELECT id FROM org_memberships WHERE org_id = $1 AND id = ANY($2::uuid[]) ORDER BY id FOR UPDATE",
    [orgId, ids],
  );
  expect(locked.rowCount).toBe(ids.length);
  if (opts.orgLock) await held.query("SELECT 1 FROM organizations WHERE id = $1 FOR NO KEY UPDATE", [orgId]);
  await held.query("DELETE FROM org_memberships WHERE org_id = $1 AND id = ANY($2::uuid[])", [orgId, ids]);
  return held;
}

describe("bulk delete: what a removal locks", () => {
  if (!onPostgres) {
    it.skip("runs only on PostgreSQL (DATABASE_URL): the embedded database serves a single session", () => {});
    return;
  }

  let manifest: DemoManifest;
  let held: HeldTransaction | null = null;
  beforeEach(async () => {
    manifest = await reseed();
  });
  afterEach(async () => {
    await held?.end("ROLLBACK").catch(() => {});
    held = null;
  });

  const id = (email: string) => memberOf(manifest, "acme", email).membershipId;
  const token = (email: string) => tokenOf(manifest, "acme", email);

  it("a removal of member B completes while a removal of member A is open; one that includes A waits for it", async () => {
    const acme = orgOf(manifest, "acme");
    held = await holdRemoval(acme.id, [id("user001@acme.test")], { orgLock: false });

    const b = await restDelete(acme.id, token("admin@acme.test"), [id("user002@acme.test")]);
    expect(b.status, JSON.stringify(b.body)).toBe(200);
    expect(b.body.memberships?.map((m) => m.id)).toEqual([id("user002@acme.test")]);
    // An admin's removal does not wait for it either: no organization lock is held.
    const admin = await restDelete(acme.id, token("admin@acme.test"), [id("admin2@acme.test")]);
    expect(admin.status, JSON.stringify(admin.body)).toBe(200);

    const overlapping = inFlight(
      restDelete(acme.id, token("admin@acme.test"), [id("user003@acme.test"), id("user001@acme.test")]),
    );
    expect(await held.waiters()).toHaveLength(1);
    expect(overlapping.settled()).toBe(false);
    await held.end("COMMIT");
    held = null;
    // A was removed by the transaction that committed first.
    const late = await overlapping.answer;
    expect(late.status).toBe(404);
    expect(late.body.message).toBe(`Memberships not found in organization ${acme.id}: ${id("user001@acme.test")}`);
    const prisma = await testDb();
    expect(await prisma.orgMembership.count({ where: { id: id("user003@acme.test") } })).toBe(1);
  });

  it("a removal of member B completes while a removal of admin A is open; a removal of another admin waits", async () => {
    const acme = orgOf(manifest, "acme");
    const prisma = await testDb();
    // A third admin, so that after A goes one admin's removal can still succeed.
    await prisma.orgMembership.update({ where: { id: id("user010@acme.test") }, data: { role: "admin" } });
    held = await holdRemoval(acme.id, [id("admin2@acme.test")], { orgLock: true });

    const b = await restDelete(acme.id, token("admin@acme.test"), [id("user002@acme.test")]);
    expect(b.status, JSON.stringify(b.body)).toBe(200);

    const adminRemoval = inFlight(restDelete(acme.id, token("admin@acme.test"), [id("user010@acme.test")]));
    expect(await held.waiters()).toHaveLength(1);
    expect(adminRemoval.settled()).toBe(false);
    await held.end("COMMIT");
    held = null;
    const answer = await adminRemoval.answer;
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    // Two admins went, one by each transaction, in turn; the caller is the one left.
    expect(await activeAdminIds(prisma, acme.id)).toEqual([id("admin@acme.test")]);
  });

  it("check 13 counts after the open admin removal commits: the last admin cannot go", async () => {
    const acme = orgOf(manifest, "acme");
    const prisma = await testDb();
    // A caller who is not an admin but holds every permission, so that both admins are targets.
    await grantEverything(fixtures(manifest), prisma, "user005@acme.test");
    held = await holdRemoval(acme.id, [id("admin2@acme.test")], { orgLock: true });
    const lastAdmin = inFlight(restDelete(acme.id, token("user005@acme.test"), [id("admin@acme.test")]));
    expect(await held.waiters()).toHaveLength(1);
    expect(lastAdmin.settled()).toBe(false);
    await held.end("COMMIT");
    held = null;
    const answer = await lastAdmin.answer;
    expect(answer.status, JSON.stringify(answer.body)).toBe(400);
    expect(answer.body).toMatchObject({ error: "BadRequest", message: LAST_ADMIN });
    expect(await prisma.orgMembership.count({ where: { id: id("admin@acme.test") } })).toBe(1);
  });

  it("a caller whose own membership is being removed waits, then is refused (check 5 under the lock)", async () => {
    const acme = orgOf(manifest, "acme");
    held = await holdRemoval(acme.id, [id("admin2@acme.test")], { orgLock: true });
    // admin2 removes a plain member: no organization lock, but its own row is locked by the held removal.
    const byRemoved = inFlight(restDelete(acme.id, token("admin2@acme.test"), [id("user004@acme.test")]));
    expect(await held.waiters()).toHaveLength(1);
    expect(byRemoved.settled()).toBe(false);
    await held.end("COMMIT");
    held = null;
    const answer = await byRemoved.answer;
    expect(answer.status).toBe(403);
    expect(answer.body).toMatchObject({ error: "ForbiddenError", message: MSG.notMember });
    const prisma = await testDb();
    expect(await prisma.orgMembership.count({ where: { id: id("user004@acme.test") } })).toBe(1);
  });

  it("two requests by one caller do not wait for each other's lock on the caller's row", async () => {
    const acme = orgOf(manifest, "acme");
    // Held: a removal by admin, which share-locks admin's own row, as the service does.
    held = await HeldTransaction.begin();
    await held.query("SELECT id FROM org_memberships WHERE id = $1 FOR SHARE", [id("admin@acme.test")]);
    const answer = await restDelete(acme.id, token("admin@acme.test"), [id("user006@acme.test")]);
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
  });
});
