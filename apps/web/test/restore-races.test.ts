// Restores racing other writers, over HTTP against the running app. A transaction is held open
// from here with `pg`, the restore is seen waiting on it in pg_stat_activity, then it commits:
// - the user added again (or put in a project again) by a transaction the restore could not see
//   when it read: the restore's insert hits the unique index, and the answer is 409 Conflict
//   listing the clash (skipConflicts restores the rest), never a 500;
// - two restores of one batch at once: exactly one 200, the other 409 alreadyRestored.
// Needs PostgreSQL: the embedded database serves a single session, so nothing would overlap.

import { memberOf, orgOf, reseed, testDb, tokenOf } from "@roster/api/testing";
import type { DemoManifest } from "@roster/contract";
import { afterEach, beforeEach, describe, expect, inject, it } from "vitest";
import { HeldTransaction } from "./support/held-transaction";
import type { Outcome } from "./support/http";
import { rest } from "./support/surfaces";

const onPostgres = inject("databaseKind") === "postgres";

describe("restore: races with other writers", () => {
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

  const acmeId = () => orgOf(manifest, "acme").id;
  const id = (email: string) => memberOf(manifest, "acme", email).membershipId;
  const userId = (email: string) => memberOf(manifest, "acme", email).userId as string;
  const bearer = () => `Bearer ${tokenOf(manifest, "acme", "admin@acme.test")}`;

  async function removed(emails: string[]): Promise<string> {
    const out = await rest.bulkDelete({
      authorization: bearer(),
      orgId: acmeId(),
      body: { membershipIds: emails.map(id) },
    });
    expect(out.status, JSON.stringify(out.message)).toBe(200);
    return out.reqId;
  }

  const restore = (body: Record<string, unknown>): Promise<Outcome> =>
    rest.restore({ authorization: bearer(), orgId: acmeId(), body });

  const present = async (emails: string[]) =>
    (await testDb()).orgMembership.count({ where: { id: { in: emails.map(id) } } });

  /** Starts a restore, sees it wait on the held transaction, commits that, and returns the restore's answer. */
  async function restoreAfterCommit(body: Record<string, unknown>): Promise<Outcome> {
    if (!held) throw new Error("no transaction is held");
    const pending = restore(body);
    expect(await held.waiters({ queued: true })).toHaveLength(1);
    await held.end("COMMIT");
    held = null;
    return pending;
  }

  /** A 409 Conflict (the restore's answer to a clash), never a 500. */
  const expectConflict = (out: Outcome) =>
    expect({ status: out.status, error: out.error }, JSON.stringify(out.message)).toEqual({
      status: 409,
      error: "Conflict",
    });

  it("a user added again by a transaction that commits while the restore waits: 409 memberExists, not 500", async () => {
    const batchId = await removed(["user003@acme.test", "user004@acme.test"]);
    held = await HeldTransaction.begin();
    await held.query(
      "INSERT INTO org_memberships (org_id, user_id, role, status, updated_at) VALUES ($1, $2, 'member', 'accepted', now())",
      [acmeId(), userId("user003@acme.test")],
    );
    const out = await restoreAfterCommit({ batchId });
    expectConflict(out);
    expect(out.details).toEqual([{ membershipId: id("user003@acme.test"), reason: "memberExists" }]);
    // All or nothing: user004 did not come back either.
    expect(await present(["user003@acme.test", "user004@acme.test"])).toBe(0);

    // The same race with skipConflicts: the rest is restored and the clash listed as skipped.
    const second = await removed(["user005@acme.test", "user006@acme.test"]);
    held = await HeldTransaction.begin();
    await held.query(
      "INSERT INTO org_memberships (org_id, user_id, role, status, updated_at) VALUES ($1, $2, 'member', 'accepted', now())",
      [acmeId(), userId("user005@acme.test")],
    );
    const ok = await restoreAfterCommit({ batchId: second, skipConflicts: true });
    expect(ok.status, JSON.stringify(ok.message)).toBe(200);
    const data = ok.data as { memberships: { id: string }[]; skipped: unknown[] };
    expect(data.memberships.map((m) => m.id)).toEqual([id("user006@acme.test")]);
    expect(data.skipped).toEqual([{ membershipId: id("user005@acme.test"), reason: "memberExists" }]);
    expect(await present(["user005@acme.test"])).toBe(0);
    expect(await present(["user006@acme.test"])).toBe(1);
  });

  it("a user put back in a project meanwhile: 409 projectMemberExists, not 500", async () => {
    const batchId = await removed(["user007@acme.test"]);
    const prisma = await testDb();
    const snapshot = await prisma.membershipSnapshot.findFirstOrThrow({ where: { batchId } });
    const [project] = snapshot.projectMemberships as { project_id: string }[];
    expect(project).toBeDefined();
    held = await HeldTransaction.begin();
    await held.query("INSERT INTO project_memberships (project_id, user_id, updated_at) VALUES ($1, $2, now())", [
      project?.project_id,
      userId("user007@acme.test"),
    ]);
    const out = await restoreAfterCommit({ batchId });
    expectConflict(out);
    expect(out.details).toEqual([
      { membershipId: id("user007@acme.test"), reason: "projectMemberExists", projectId: project?.project_id },
    ]);
    expect(await present(["user007@acme.test"])).toBe(0);
  });

  it("two restores of one batch at once: exactly one succeeds, the other answers 409 alreadyRestored", async () => {
    const emails = ["user008@acme.test", "user009@acme.test"];
    const batchId = await removed(emails);
    // Both requests get past their checks and wait on the organization's lock, then race for it.
    held = await HeldTransaction.begin();
    await held.query("SELECT 1 FROM organizations WHERE id = $1 FOR NO KEY UPDATE", [acmeId()]);
    const both = [restore({ batchId }), restore({ batchId })];
    expect(await held.waiters({ want: 2, queued: true })).toHaveLength(2);
    await held.end("ROLLBACK");
    held = null;

    const answers = await Promise.all(both);
    expect(answers.map((a) => a.status).sort()).toEqual([200, 409]);
    const lost = answers.find((a) => a.status === 409) as Outcome;
    expect(lost.error).toBe("Conflict");
    expect(lost.details).toEqual(
      emails
        .map(id)
        .sort()
        .map((membershipId) => ({ membershipId, reason: "alreadyRestored" })),
    );
    expect(await present(emails)).toBe(2);
    const won = answers.find((a) => a.status === 200) as Outcome;
    const prisma = await testDb();
    expect(await prisma.auditEvent.count({ where: { eventType: "organization.membership.restored" } })).toBe(2);
    expect(await prisma.auditEvent.count({ where: { batchId: won.reqId } })).toBe(2);
  });
});
