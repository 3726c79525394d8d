// A restore's caller is verified before its transaction; inside it, the caller's own membership
// is read again under a share lock (as a removal does), so a request that removed or demoted the
// caller and committed first wins, and one still open is waited for.
import { getConfig } from "@roster/config";
import pg from "pg";
import { beforeEach, describe, expect, inject, it } from "vitest";
import { verifyBearer } from "../src/auth/caller";
import { bulkDeleteMemberships } from "../src/services/bulk-delete-memberships";
import { previewRestoreMemberships, restoreMemberships } from "../src/services/membership-snapshots";
import { memberOf, reseed, testDb, tokenOf } from "./support";

const removal = { reqId: "req-StaleRemoval001", ip: null, userAgent: null };
const origin = { reqId: "req-StaleRestore001", ip: null, userAgent: null };
const onPostgres = inject("databaseKind") === "postgres";

describe("a restoring caller changed after its token was verified", () => {
  let manifest: Awaited<ReturnType<typeof reseed>>;
  beforeEach(async () => {
    manifest = await reseed();
  });

  const callerOf = async (email: string) =>
    verifyBearer(await testDb(), `Bearer ${tokenOf(manifest, "acme", email)}`, getConfig().authSecret);
  const id = (email: string) => memberOf(manifest, "acme", email).membershipId;

  /** A batch removed by admin@acme.test: user001 and user002. */
  async function batch(): Promise<string> {
    const admin = await callerOf("admin@acme.test");
    await bulkDeleteMemberships(await testDb(), admin, [id("user001@acme.test"), id("user002@acme.test")], removal);
    return removal.reqId;
  }

  const restoredCount = async () =>
    (await testDb()).orgMembership.count({ where: { id: { in: [id("user001@acme.test"), id("user002@acme.test")] } } });

  it("cannot restore once it was removed itself", async () => {
    const prisma = await testDb();
    const admin2 = await callerOf("admin2@acme.test");
    const batchId = await batch();
    const admin = await callerOf("admin@acme.test");
    await bulkDeleteMemberships(prisma, admin, [id("admin2@acme.test")], { ...removal, reqId: "req-StaleRemoval002" });

    await expect(restoreMemberships(prisma, admin2, { batchId }, origin)).rejects.toMatchObject({
      status: 403,
      errorName: "ForbiddenError",
      message: "User not member of organization",
    });
    expect(await restoredCount()).toBe(0);
    const preview = await previewRestoreMemberships(prisma, admin2, batchId);
    expect(preview.blocker).toMatchObject({ statusCode: 403, message: "User not member of organization" });
  });

  it("acts with its current role, not the one its token saw", async () => {
    const prisma = await testDb();
    const admin2 = await callerOf("admin2@acme.test");
    const batchId = await batch();
    await prisma.orgMembership.update({ where: { id: id("admin2@acme.test") }, data: { role: "member" } });
    await expect(restoreMemberships(prisma, admin2, { batchId }, origin)).rejects.toMatchObject({
      status: 403,
      errorName: "PermissionDenied",
      message: "You are not allowed to create on member",
      details: [{ subject: "member", actions: ["read"] }],
    });
    const preview = await previewRestoreMemberships(prisma, admin2, batchId);
    expect(preview.blocker).toMatchObject({ statusCode: 403, error: "PermissionDenied" });

    await prisma.orgMembership.update({
      where: { id: id("admin2@acme.test") },
      data: { role: "admin", isActive: false },
    });
    await expect(restoreMemberships(prisma, admin2, { batchId }, origin)).rejects.toMatchObject({
      status: 403,
      message: "User organization membership is inactive",
    });
    expect(await restoredCount()).toBe(0);

    // Back as it was, the same stale caller restores.
    await prisma.orgMembership.update({ where: { id: id("admin2@acme.test") }, data: { isActive: true } });
    const out = await restoreMemberships(prisma, admin2, { batchId }, origin);
    expect(out.memberships).toHaveLength(2);
    expect(await restoredCount()).toBe(2);
  });

  it.skipIf(!onPostgres)("waits for an open demotion of the caller, then is refused by it", async () => {
    const prisma = await testDb();
    const admin2 = await callerOf("admin2@acme.test");
    const batchId = await batch();
    const demotion = new pg.Client({ connectionString: inject("databaseUrl") });
    // Watches from outside the demotion's transaction, whose view of pg_stat_activity is a
    // snapshot taken at its first read.
    const watcher = new pg.Client({ connectionString: inject("databaseUrl") });
    await Promise.all([demotion.connect(), watcher.connect()]);
    try {
      const { rows } = await demotion.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
      await demotion.query("BEGIN");
      await demotion.query("UPDATE org_memberships SET role = 'member' WHERE id = $1", [id("admin2@acme.test")]);

      let settled = false;
      const restore = restoreMemberships(prisma, admin2, { batchId }, origin).then(
        (v) => ({ ok: true as const, v }),
        (e: unknown) => ({ ok: false as const, e }),
      );
      void restore.finally(() => {
        settled = true;
      });
      // The restore is seen waiting on the demotion's row lock before the demotion commits.
      let waiting = 0;
      for (let i = 0; i < 600 && waiting === 0; i++) {
        const r = await watcher.query<{ n: number }>(
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))",
          [rows[0]?.pid],
        );
        waiting = r.rows[0]?.n ?? 0;
        if (waiting === 0) await new Promise((res) => setTimeout(res, 25));
      }
      expect(waiting).toBe(1);
      expect(settled).toBe(false);
      await demotion.query("COMMIT");

      const out = await restore;
      expect(out.ok).toBe(false);
      expect(out.ok ? null : out.e).toMatchObject({ status: 403, errorName: "PermissionDenied" });
      expect(await restoredCount()).toBe(0);
    } finally {
      await demotion.query("ROLLBACK").catch(() => {});
      await Promise.all([demotion.end(), watcher.end()]);
    }
  });
});
