// Undo of a removal, through both surfaces (REST over HTTP and tRPC; see support/surfaces.ts): a batch
// comes back exactly as it was (every column of every row, but updatedAt), all or nothing, with
// each conflict listed; skipConflicts restores the rest; the permission, the privilege boundary
// and the organization's own batches only.
import { REQ_ID, reseed, testDb } from "@roster/api/testing";
import type { Db } from "@roster/db";
import { describe, expect, it } from "vitest";
import { ADMIN, ADMIN2, type Fx, fixtures, MEMBER, REMOVER, Seeded } from "./support/fixtures";
import type { Outcome } from "./support/http";
import { unchangedProbe } from "./support/snapshots";
import { rest, SURFACES, trpcCallerFor } from "./support/surfaces";

const RESTORED_EVENT = "organization.membership.restored";
const MIXED = [ADMIN2, "invitee01@acme.test", REMOVER, "user001@acme.test", "inactive01@acme.test"];

type Row = Record<string, unknown>;

/** Every column of the rows a removal of `emails` touches, as the database holds them. */
async function touchedRows(db: Db, fx: Fx, emails: string[]) {
  const ids = emails.map((e) => fx.id(e));
  const userIds = fx.acme.members.filter((m) => emails.includes(m.email) && m.userId).map((m) => m.userId as string);
  const rows = await db.$queryRaw<{ t: string; row: Row }[]>`
    SELECT 'membership' AS t, to_jsonb(m) AS row FROM org_memberships m WHERE m.id = ANY(${ids}::uuid[])
    UNION ALL
    SELECT 'project_membership', to_jsonb(pm) FROM project_memberships pm WHERE pm.user_id = ANY(${userIds}::uuid[])
    UNION ALL
    SELECT 'project_membership_role', to_jsonb(r) FROM project_membership_roles r
      JOIN project_memberships pm ON pm.id = r.project_membership_id WHERE pm.user_id = ANY(${userIds}::uuid[])`;
  const sorted = (t: string) =>
    rows
      .filter((r) => r.t === t)
      .map((r) => r.row)
      .sort((a, b) => String(a.id).localeCompare(String(b.id)));
  return {
    memberships: sorted("membership"),
    projectMemberships: sorted("project_membership"),
    roles: sorted("project_membership_role"),
  };
}

const withoutUpdatedAt = (rows: Row[]) => rows.map(({ updated_at: _, ...r }) => r);

describe.each(SURFACES)("restore a removal over $name", (surface) => {
  const seeded = new Seeded();

  /** A fresh seed, then a removal of `emails` by admin@acme.test; answers the removal's batch id. */
  async function removed(emails: string[]): Promise<{ fx: Fx; db: Db; batchId: string }> {
    seeded.dirty();
    const fx = await seeded.get();
    const db = await testDb();
    const out = await surface.bulkDelete({
      authorization: fx.bearer(ADMIN),
      orgId: fx.acme.id,
      body: { membershipIds: emails.map((e) => fx.id(e)) },
    });
    expect(out.status, JSON.stringify(out.message)).toBe(200);
    return { fx, db, batchId: out.reqId };
  }

  const restore = (fx: Fx, body: Record<string, unknown>, as = ADMIN, org: "acme" | "globex" = "acme") =>
    surface.restore({ authorization: fx.bearer(as, org), orgId: org === "acme" ? fx.acme.id : fx.globex.id, body });

  /** A failure that changed nothing. */
  async function expectRefused(db: Db, call: () => Promise<Outcome>, status: number, error: string) {
    const before = await unchangedProbe(db);
    const out = await call();
    expect({ status: out.status, error: out.error }, JSON.stringify(out.message)).toEqual({ status, error });
    expect(out.data).toBeUndefined();
    expect(await unchangedProbe(db)).toEqual(before);
    return out;
  }

  it("puts a mixed batch back exactly as it was (but updatedAt), and the old tokens work again", async () => {
    seeded.dirty();
    const fx0 = await seeded.get();
    const db0 = await testDb();
    const before = await touchedRows(db0, fx0, MIXED);
    expect(before.memberships).toHaveLength(MIXED.length);
    expect(before.projectMemberships.length).toBeGreaterThan(0);
    expect(before.roles.length).toBeGreaterThan(0);
    expect(before.memberships.some((m) => m.role_id !== null)).toBe(true);

    const out = await surface.bulkDelete({
      authorization: fx0.bearer(ADMIN),
      orgId: fx0.acme.id,
      body: { membershipIds: MIXED.map((e) => fx0.id(e)) },
    });
    expect(out.status).toBe(200);
    const batchId = out.reqId;
    const gone = await touchedRows(db0, fx0, MIXED);
    expect(gone.memberships).toEqual([]);
    // check 5 refuses a removed user's token
    const denied = await surface.listMemberships({
      authorization: fx0.bearer("user001@acme.test"),
      orgId: fx0.acme.id,
    });
    expect(denied.status).toBe(403);

    const restored = await restore(fx0, { batchId });
    expect(restored.status, JSON.stringify(restored.message)).toBe(200);
    const data = restored.data as { memberships: Row[]; projectMembershipCount: number; skipped: unknown[] };
    expect(data.skipped).toEqual([]);
    expect(data.projectMembershipCount).toBe(before.projectMemberships.length);
    expect(data.memberships.map((m) => m.id).sort()).toEqual(before.memberships.map((m) => m.id).sort());

    const after = await touchedRows(db0, fx0, MIXED);
    expect(withoutUpdatedAt(after.memberships)).toEqual(withoutUpdatedAt(before.memberships));
    expect(withoutUpdatedAt(after.projectMemberships)).toEqual(withoutUpdatedAt(before.projectMemberships));
    expect(after.roles).toEqual(before.roles);
    for (const [i, m] of after.memberships.entries()) {
      expect(Date.parse(m.updated_at as string)).toBeGreaterThan(
        Date.parse(before.memberships[i]?.updated_at as string),
      );
    }

    // One event per membership under the restore's request id, naming the restored batch.
    expect(restored.reqId).toMatch(REQ_ID);
    const events = await db0.auditEvent.findMany({ where: { batchId: restored.reqId } });
    expect(events).toHaveLength(MIXED.length);
    for (const e of events) {
      expect(e).toMatchObject({ eventType: RESTORED_EVENT, targetType: "org_membership", orgId: fx0.acme.id });
      expect(e.metadata).toMatchObject({ restoredBatchId: batchId });
    }
    expect(events.map((e) => e.targetId).sort()).toEqual(before.memberships.map((m) => m.id).sort());

    const again = await surface.listMemberships({ authorization: fx0.bearer("user001@acme.test"), orgId: fx0.acme.id });
    expect(again.status).toBe(200);
  });

  it("refuses a second restore of the same batch (409 alreadyRestored)", async () => {
    const { fx, db, batchId } = await removed([MEMBER, "user002@acme.test"]);
    expect((await restore(fx, { batchId })).status).toBe(200);
    const out = await expectRefused(db, () => restore(fx, { batchId }), 409, "Conflict");
    expect(out.details).toEqual(
      [fx.id(MEMBER), fx.id("user002@acme.test")]
        .sort()
        .map((membershipId) => ({ membershipId, reason: "alreadyRestored" })),
    );
  });

  it("refuses when a user was added again, and skipConflicts restores the others", async () => {
    const { fx, db, batchId } = await removed(["user003@acme.test", "user004@acme.test"]);
    await db.orgMembership.create({
      data: { orgId: fx.acme.id, userId: fx.userId("user003@acme.test"), role: "member", status: "accepted" },
    });
    const conflict = { membershipId: fx.id("user003@acme.test"), reason: "memberExists" };
    const out = await expectRefused(db, () => restore(fx, { batchId }), 409, "Conflict");
    expect(out.details).toEqual([conflict]);

    const skipped = await restore(fx, { batchId, skipConflicts: true });
    expect(skipped.status).toBe(200);
    const data = skipped.data as { memberships: Row[]; skipped: unknown[] };
    expect(data.memberships.map((m) => m.id)).toEqual([fx.id("user004@acme.test")]);
    expect(data.skipped).toEqual([conflict]);
    expect(await db.orgMembership.count({ where: { id: fx.id("user004@acme.test") } })).toBe(1);
  });

  it("refuses when the custom role is gone", async () => {
    const { fx, db, batchId } = await removed([REMOVER]);
    await db.orgRoleDefinition.deleteMany({ where: { orgId: fx.acme.id, slug: "member-remover" } });
    const out = await expectRefused(db, () => restore(fx, { batchId }), 409, "Conflict");
    expect(out.details).toEqual([{ membershipId: fx.id(REMOVER), reason: "customRoleGone" }]);
  });

  it("refuses when a project is gone; skipConflicts restores the membership without it", async () => {
    const { fx, db, batchId } = await removed(["user005@acme.test"]);
    const snapshot = await db.membershipSnapshot.findFirstOrThrow({ where: { batchId } });
    const pms = snapshot.projectMemberships as { project_id: string; id: string }[];
    expect(pms).toHaveLength(2);
    const [lost, kept] = pms as [{ project_id: string; id: string }, { project_id: string; id: string }];
    await db.project.delete({ where: { id: lost.project_id } });
    const conflict = { membershipId: fx.id("user005@acme.test"), reason: "projectGone", projectId: lost.project_id };
    const out = await expectRefused(db, () => restore(fx, { batchId }), 409, "Conflict");
    expect(out.details).toEqual([conflict]);

    const skipped = await restore(fx, { batchId, skipConflicts: true });
    expect(skipped.status).toBe(200);
    expect((skipped.data as { skipped: unknown[]; projectMembershipCount: number }).skipped).toEqual([conflict]);
    expect((skipped.data as { projectMembershipCount: number }).projectMembershipCount).toBe(1);
    const now = await db.projectMembership.findMany({ where: { userId: fx.userId("user005@acme.test") } });
    expect(now.map((p) => p.id)).toEqual([kept.id]);
  });

  it("refuses an expired batch, before and after its snapshots are purged", async () => {
    const { fx, db, batchId } = await removed(["user006@acme.test"]);
    await db.$executeRaw`UPDATE membership_snapshots SET created_at = now() - interval '8 days' WHERE batch_id = ${batchId}`;
    const expired = [{ membershipId: fx.id("user006@acme.test"), reason: "expired" }];
    expect((await expectRefused(db, () => restore(fx, { batchId }), 409, "Conflict")).details).toEqual(expired);

    // The next removal purges it; the audit log still knows the batch.
    const next = await surface.bulkDelete({
      authorization: fx.bearer(ADMIN),
      orgId: fx.acme.id,
      body: { membershipIds: [fx.id("user007@acme.test")] },
    });
    expect(next.status).toBe(200);
    expect(await db.membershipSnapshot.count({ where: { batchId } })).toBe(0);
    expect(await db.membershipSnapshot.count({ where: { batchId: next.reqId } })).toBe(1);
    expect((await expectRefused(db, () => restore(fx, { batchId }), 409, "Conflict")).details).toEqual(expired);
  });

  it("needs create on member, and the caller's rules must cover every role restored", async () => {
    const { fx, db, batchId } = await removed([ADMIN2, "user008@acme.test"]);
    const denied = await expectRefused(db, () => restore(fx, { batchId }, MEMBER), 403, "PermissionDenied");
    expect(denied.message).toBe("You are not allowed to create on member");

    // remover may now create members, but an admin's rules are beyond its own.
    await db.orgRoleDefinition.updateMany({
      where: { orgId: fx.acme.id, slug: "member-remover" },
      data: { permissions: [{ subject: "member", actions: ["read", "create", "delete"] }] },
    });
    const beyond = await expectRefused(db, () => restore(fx, { batchId }, REMOVER), 403, "PermissionBoundaryError");
    expect(beyond.message).toBe(
      `Failed to restore member ${fx.id(ADMIN2)} to the organization: your privileges do not cover theirs`,
    );
  });

  it("answers 404 for another organization's batch and for an unknown one, 422 for a malformed one", async () => {
    const { fx, db, batchId } = await removed(["user009@acme.test"]);
    const other = await expectRefused(
      db,
      () => restore(fx, { batchId }, "admin@globex.test", "globex"),
      404,
      "NotFound",
    );
    expect(other.message).toBe(`Removal ${batchId} not found in organization ${fx.globex.id}`);
    await expectRefused(db, () => restore(fx, { batchId: "req-00000000000000" }), 404, "NotFound");
    await expectRefused(db, () => restore(fx, { batchId: "nope" }), 422, "ValidationFailure");
    await expectRefused(db, () => restore(fx, { batchId, extra: 1 }), 422, "ValidationFailure");
  });
});

describe("previewRestoreMemberships", () => {
  it("shows what would come back and what conflicts, writing nothing", async () => {
    const fx = fixtures(await reseed());
    const db = await testDb();
    const emails = [ADMIN2, "user010@acme.test"];
    const out = await rest.bulkDelete({
      authorization: fx.bearer(ADMIN),
      orgId: fx.acme.id,
      body: { membershipIds: emails.map((e) => fx.id(e)) },
    });
    expect(out.status).toBe(200);
    await db.orgMembership.create({
      data: { orgId: fx.acme.id, userId: fx.userId("user010@acme.test"), role: "member", status: "accepted" },
    });
    const before = await unchangedProbe(db);
    const input = { organizationId: fx.acme.id, batchId: out.reqId };
    const preview = await (await trpcCallerFor(fx.bearer(ADMIN))).organizations.previewRestoreMemberships(input);
    expect(preview.memberships.map((m) => m.id).sort()).toEqual(emails.map((e) => fx.id(e)).sort());
    expect(preview.conflicts).toEqual([{ membershipId: fx.id("user010@acme.test"), reason: "memberExists" }]);
    expect(preview.projectMembershipCount).toBe(0);
    expect(preview.blocker).toBeNull();
    expect(Date.parse(preview.expiresAt as string)).toBeGreaterThan(Date.now() + 6 * 86_400_000);
    // a member may read members but not create them: the preview names what would stop the restore
    const asMember = await (await trpcCallerFor(fx.bearer(MEMBER))).organizations.previewRestoreMemberships(input);
    expect(asMember.blocker).toMatchObject({ statusCode: 403, error: "PermissionDenied" });
    expect(await unchangedProbe(db)).toEqual(before);
  });
});

describe("listAuditBatches: what the Audit page needs to offer a restore", () => {
  it("says until when a removal can be restored, which restores put it back, and what a restore undid", async () => {
    const fx = fixtures(await reseed());
    const db = await testDb();
    const caller = await trpcCallerFor(fx.bearer(ADMIN));
    const remove = async (emails: string[]) => {
      const out = await rest.bulkDelete({
        authorization: fx.bearer(ADMIN),
        orgId: fx.acme.id,
        body: { membershipIds: emails.map((e) => fx.id(e)) },
      });
      expect(out.status).toBe(200);
      return out.reqId;
    };
    const batches = async () => {
      const { batches } = await caller.organizations.listAuditBatches({ organizationId: fx.acme.id, limit: 10 });
      return new Map(batches.map((b) => [b.batchId, b]));
    };

    const whole = await remove(["user011@acme.test", "user012@acme.test"]);
    const partial = await remove(["user013@acme.test", "user014@acme.test"]);
    const expired = await remove(["user015@acme.test"]);
    await db.$executeRaw`UPDATE membership_snapshots SET created_at = now() - interval '8 days' WHERE batch_id = ${expired}`;
    const before = await batches();
    const removedAt = Date.parse(before.get(whole)?.createdAt as string);
    const until = Date.parse(before.get(whole)?.restorableUntil as string);
    expect(until - removedAt).toBeGreaterThan(7 * 86_400_000 - 60_000);
    expect(until - removedAt).toBeLessThan(7 * 86_400_000 + 60_000);
    expect(before.get(whole)).toMatchObject({ restoredBy: [], restoredCount: 0, restoresBatchId: null });
    expect(before.get(expired)).toMatchObject({ restorableUntil: null, restoredBy: [], restoredCount: 0 });

    const undo = await rest.restore({ authorization: fx.bearer(ADMIN), orgId: fx.acme.id, body: { batchId: whole } });
    expect(undo.status).toBe(200);
    await db.orgMembership.create({
      data: { orgId: fx.acme.id, userId: fx.userId("user013@acme.test"), role: "member", status: "accepted" },
    });
    const some = await rest.restore({
      authorization: fx.bearer(ADMIN),
      orgId: fx.acme.id,
      body: { batchId: partial, skipConflicts: true },
    });
    expect(some.status).toBe(200);

    const after = await batches();
    expect(after.get(whole)).toMatchObject({ restorableUntil: null, restoredBy: [undo.reqId], restoredCount: 2 });
    // Half of it came back; the other half is still waiting, within the window.
    expect(after.get(partial)).toMatchObject({ restoredBy: [some.reqId], restoredCount: 1 });
    expect(after.get(partial)?.restorableUntil).toEqual(before.get(partial)?.restorableUntil);
    expect(after.get(undo.reqId)).toMatchObject({
      eventType: RESTORED_EVENT,
      restoresBatchId: whole,
      restorableUntil: null,
      restoredBy: [],
    });
    expect(
      after
        .get(undo.reqId)
        ?.targets.map((t) => t.email)
        .sort(),
    ).toEqual(["user011@acme.test", "user012@acme.test"]);
  });
});
