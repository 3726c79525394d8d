// The member list's total comes from counts the database keeps (the org_member_counts migration:
// triggers append deltas, member-counts.ts sums and folds them). They must always equal the
// memberships counted, for every role and status filter, whatever wrote the memberships: the
// seed, removals and restores through the services, plain inserts, updates and deletes, an
// organization deleted, a table truncated; and folding must change no total and keep no writer
// waiting.
import { getConfig } from "@roster/config";
import { MEMBER_STATUS_FILTERS } from "@roster/contract";
import pg from "pg";
import { beforeEach, describe, expect, inject, it } from "vitest";
import { verifyBearer } from "../src/auth/caller";
import { bulkDeleteMemberships } from "../src/services/bulk-delete-memberships";
import { listMemberships } from "../src/services/list-memberships";
import { FOLD_AT, foldMemberCounts, memberTotal } from "../src/services/member-counts";
import { restoreMemberships } from "../src/services/membership-snapshots";
import { memberOf, orgOf, reseed, testDb, tokenOf } from "./support";

const ROLES = [undefined, "admin", "member", "no-access", "custom"] as const;
const STATUSES = [undefined, ...MEMBER_STATUS_FILTERS] as const;
const onPostgres = inject("databaseKind") === "postgres";
const origin = (reqId: string) => ({ reqId, ip: null, userAgent: null });

interface Row {
  role: string;
  status: string;
  isActive: boolean;
}

/** What a status filter means, from the membership itself (the list's filter, written apart). */
function statusMatches(r: Row, status: (typeof STATUSES)[number]): boolean {
  if (status === "invited") return r.status === "invited";
  if (status === "active") return r.status === "accepted" && r.isActive;
  if (status === "inactive") return r.status === "accepted" && !r.isActive;
  return true;
}

/** Every organization's totals, for every role and status filter, equal its memberships counted. */
async function expectTotalsRight(): Promise<void> {
  const prisma = await testDb();
  const orgs = await prisma.organization.findMany({ select: { id: true } });
  for (const { id } of orgs) {
    const rows = await prisma.$queryRaw<Row[]>`
      SELECT role::text AS role, status::text AS status, is_active AS "isActive" FROM org_memberships WHERE org_id = ${id}::uuid`;
    for (const role of ROLES)
      for (const status of STATUSES) {
        const counted = rows.filter((r) => (!role || r.role === role) && statusMatches(r, status)).length;
        expect({ org: id, role, status, total: await memberTotal(prisma, id, { role, status }) }).toEqual({
          org: id,
          role,
          status,
          total: counted,
        });
      }
  }
}

const deltaRows = async (orgId: string) =>
  Number(
    (
      await (
        await testDb()
      ).$queryRaw<{ n: number }[]>`
        SELECT count(*)::int AS n FROM org_member_counts WHERE org_id = ${orgId}::uuid`
    )[0]?.n,
  );

describe("the counts the database keeps of an organization's memberships", () => {
  let manifest: Awaited<ReturnType<typeof reseed>>;
  beforeEach(async () => {
    manifest = await reseed();
  });
  const acme = () => orgOf(manifest, "acme");
  const id = (email: string) => memberOf(manifest, "acme", email).membershipId;
  const callerOf = async (email: string) =>
    verifyBearer(await testDb(), `Bearer ${tokenOf(manifest, "acme", email)}`, getConfig().authSecret);

  it("equal the memberships counted after the seed, for every filter, and are what the list answers", async () => {
    await expectTotalsRight();
    const prisma = await testDb();
    for (const status of STATUSES) {
      const page = await listMemberships(prisma, acme().id, { limit: 5, sortBy: "email", sortDir: "asc", status });
      expect(page.total).toBe(await memberTotal(prisma, acme().id, { status }));
    }
    const all = await listMemberships(prisma, acme().id, { limit: 5, sortBy: "name", sortDir: "asc" });
    expect(all.total).toBe(acme().members.length);
  });

  it("follow removals and restores through the services", async () => {
    const prisma = await testDb();
    const admin = await callerOf("admin@acme.test");
    const targets = ["user001@acme.test", "user002@acme.test", "invitee01@acme.test"].map(id);
    const before = await memberTotal(prisma, acme().id, {});
    await bulkDeleteMemberships(prisma, admin, targets, origin("req-CountsRemoval01"));
    expect(await memberTotal(prisma, acme().id, {})).toBe(before - 3);
    await expectTotalsRight();
    // One id takes the one-statement path; an admin among the targets the transaction's.
    await bulkDeleteMemberships(prisma, admin, [id("user003@acme.test")], origin("req-CountsRemoval02"));
    await bulkDeleteMemberships(prisma, admin, [id("admin2@acme.test")], origin("req-CountsRemoval03"));
    expect(await memberTotal(prisma, acme().id, {})).toBe(before - 5);
    expect(await memberTotal(prisma, acme().id, { role: "admin" })).toBe(
      acme().members.filter((m) => m.role === "admin").length - 1,
    );
    await restoreMemberships(prisma, admin, { batchId: "req-CountsRemoval01" }, origin("req-CountsRestore01"));
    expect(await memberTotal(prisma, acme().id, {})).toBe(before - 2);
    await expectTotalsRight();
  });

  it("follow plain inserts, updates of role, status and activity, and deletes, many rows at once or one", async () => {
    const prisma = await testDb();
    const orgId = acme().id;
    await prisma.$executeRaw`
      INSERT INTO org_memberships (org_id, invite_email, role, status)
      SELECT ${orgId}::uuid, 'counted' || g || '@acme.test', 'member', 'invited' FROM generate_series(1, 40) g`;
    await expectTotalsRight();
    await prisma.$executeRaw`UPDATE org_memberships SET role = 'no-access' WHERE invite_email LIKE 'counted1%'`;
    await prisma.$executeRaw`UPDATE org_memberships SET status = 'accepted' WHERE invite_email LIKE 'counted2%'`;
    await prisma.$executeRaw`UPDATE org_memberships SET is_active = false WHERE invite_email LIKE 'counted2_@%'`;
    await prisma.orgMembership.update({ where: { id: id("user004@acme.test") }, data: { isActive: false } });
    await prisma.orgMembership.update({ where: { id: id("user005@acme.test") }, data: { role: "admin" } });
    await expectTotalsRight();
    const rowsBefore = await deltaRows(orgId);
    // A change of no key (a sign-in) appends nothing.
    await prisma.orgMembership.update({ where: { id: id("user006@acme.test") }, data: { lastLoginTime: new Date() } });
    expect(await deltaRows(orgId)).toBe(rowsBefore);
    await prisma.orgMembership.deleteMany({ where: { inviteEmail: { startsWith: "counted3" } } });
    await prisma.$executeRaw`DELETE FROM org_memberships WHERE invite_email LIKE 'counted%'`;
    await expectTotalsRight();
  });

  it("go with a deleted organization, and with a truncated table", async () => {
    const prisma = await testDb();
    const other = manifest.organizations.find((o) => o.slug !== "acme");
    if (!other) throw new Error("the demo data has a second organization");
    await prisma.$executeRaw`DELETE FROM organizations WHERE id = ${other.id}::uuid`;
    expect(await deltaRows(other.id)).toBe(0);
    expect(await memberTotal(prisma, other.id, {})).toBe(0);
    await expectTotalsRight();
    await prisma.$executeRaw`TRUNCATE org_memberships CASCADE`;
    expect(await deltaRows(acme().id)).toBe(0);
    await expectTotalsRight();
  });

  it("are folded into one row per key past FOLD_AT, every total the same", async () => {
    const prisma = await testDb();
    const orgId = acme().id;
    for (let i = 0; i <= FOLD_AT; i++) {
      await prisma.$executeRaw`
        INSERT INTO org_memberships (org_id, invite_email, role, status) VALUES (${orgId}::uuid, ${`fold${i}@acme.test`}, 'member', 'invited')`;
    }
    expect(await deltaRows(orgId)).toBeGreaterThan(FOLD_AT);
    const total = await memberTotal(prisma, orgId, {}); // reads, then folds
    expect(total).toBe(acme().members.length + FOLD_AT + 1);
    const keys = await prisma.$queryRaw<{ n: number }[]>`
      SELECT count(DISTINCT (role, status, is_active))::int AS n FROM org_memberships WHERE org_id = ${orgId}::uuid`;
    expect(await deltaRows(orgId)).toBe(keys[0]?.n);
    await expectTotalsRight();
    // Folding what is folded changes nothing.
    await foldMemberCounts(prisma, orgId);
    expect(await deltaRows(orgId)).toBe(keys[0]?.n);
    await expectTotalsRight();
  });

  // One session at a time on the embedded database: an open transaction there holds it whole.
  it.skipIf(!onPostgres)("fold beside an open removal without waiting for it, and keep what it commits", async () => {
    const prisma = await testDb();
    const orgId = acme().id;
    const before = await memberTotal(prisma, orgId, {});
    const open = new pg.Client({ connectionString: inject("databaseUrl") });
    await open.connect();
    try {
      await open.query("BEGIN");
      await open.query("DELETE FROM org_memberships WHERE id = $1", [id("user007@acme.test")]);
      // The open removal's delta is not seen, and the fold neither waits for it nor takes it.
      await foldMemberCounts(prisma, orgId);
      expect(await memberTotal(prisma, orgId, {})).toBe(before);
      // A second writer appends beside both.
      await prisma.$executeRaw`DELETE FROM org_memberships WHERE id = ${id("user008@acme.test")}::uuid`;
      await open.query("COMMIT");
    } finally {
      await open.end();
    }
    expect(await memberTotal(prisma, orgId, {})).toBe(before - 2);
    await foldMemberCounts(prisma, orgId);
    await expectTotalsRight();
  });

  it("are what the list's total is read from without a search, and a search counts its matches", async () => {
    const prisma = await testDb();
    const orgId = acme().id;
    // A delta no membership stands for: only a total read from the counts shows it.
    await prisma.$executeRaw`
      INSERT INTO org_member_counts (org_id, role, status, is_active, delta) VALUES (${orgId}::uuid, 'member', 'invited', true, 1000)`;
    const args = { limit: 5, sortBy: "email", sortDir: "asc" } as const;
    expect((await listMemberships(prisma, orgId, args)).total).toBe(acme().members.length + 1000);
    expect((await listMemberships(prisma, orgId, { ...args, status: "invited" })).total).toBe(
      acme().members.filter((m) => m.status === "invited").length + 1000,
    );
    expect((await listMemberships(prisma, orgId, { ...args, status: "active" })).total).toBe(
      await memberTotal(prisma, orgId, { status: "active" }),
    );
    expect((await listMemberships(prisma, orgId, { ...args, search: "@acme.test" })).total).toBe(acme().members.length);
  });
});
