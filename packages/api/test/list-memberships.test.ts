// The member list's orders by email and by name come from sort keys the database keeps on each
// membership (the member_sort_keys migration). They must always equal what the order means,
// whichever way a user or membership is written: compared here with the order computed from
// the users and invites themselves, across pages, after renames, invites accepted, and writes
// that try to set the keys directly.
import { type ListedMembership, ListMembershipsInput } from "@roster/contract";
import { Prisma } from "@roster/db";
import { beforeEach, describe, expect, it } from "vitest";
import { listMemberships, streamMemberships } from "../src/services/list-memberships";
import { MEMBERSHIP_COLUMNS, toMembershipWithUserDto, USER_COLUMNS } from "../src/services/membership-dto";
import { memberOf, orgOf, reseed, testDb } from "./support";

type Manifest = Awaited<ReturnType<typeof reseed>>;
type Sort = "email" | "name";

/** What the order means, from the listed rows themselves. */
function keyOf(m: ListedMembership, by: Sort): string | null {
  if (by === "email") return (m.user?.email ?? m.inviteEmail ?? "").toLowerCase();
  if (!m.user) return null;
  const name = `${m.user.firstName ?? ""} ${m.user.lastName ?? ""}`.trim();
  return (name || m.user.email).toLowerCase();
}

/**
 * The rows are in the order their meaning gives: the keys computed from the listed users and
 * invites, sorted by the database (in its own collation) the way the list sorts, id last.
 */
async function expectOrdered(rows: ListedMembership[], by: Sort, dir: "asc" | "desc") {
  const prisma = await testDb();
  const keys = rows.map((r) => keyOf(r, by));
  const ids = rows.map((r) => r.id);
  const order = dir === "asc" ? Prisma.sql`ASC` : Prisma.sql`DESC`;
  const sorted = await prisma.$queryRaw<{ id: string }[]>`
    SELECT id::text FROM unnest(${keys}::text[], ${ids}::uuid[]) AS t(k, id) ORDER BY k ${order} NULLS LAST, id`;
  expect(ids).toEqual(sorted.map((r) => r.id));
}

async function everyPage(
  orgId: string,
  sortBy: Sort,
  sortDir: "asc" | "desc",
  search?: string,
): Promise<ListedMembership[]> {
  const prisma = await testDb();
  const all: ListedMembership[] = [];
  let cursor: string | null = null;
  do {
    const page = await listMemberships(prisma, orgId, { limit: 50, sortBy, sortDir, cursor, search });
    all.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return all;
}

describe("the member list's sort keys", () => {
  let manifest: Manifest;
  beforeEach(async () => {
    manifest = await reseed();
  });

  it.each([
    ["email", "asc"],
    ["email", "desc"],
    ["name", "asc"],
    ["name", "desc"],
  ] as const)("orders by %s %s over every page, each membership once, invites last by name", async (by, dir) => {
    const acme = orgOf(manifest, "acme");
    const rows = await everyPage(acme.id, by, dir);
    expect(rows.map((r) => r.id).sort()).toEqual(acme.members.map((m) => m.membershipId).sort());
    await expectOrdered(rows, by, dir);
    if (by === "name") expect(rows.at(-1)?.user).toBeNull();
  });

  it("follows a user's new name and email in every organization of that user", async () => {
    const prisma = await testDb();
    const { userId } = memberOf(manifest, "acme", "member@acme.test");
    // First by name and by email in both organizations after this.
    await prisma.user.update({
      where: { id: userId as string },
      data: { firstName: "Aaaron", lastName: "Aardvark", email: "0first@acme.test" },
    });
    for (const slug of ["acme", "globex"]) {
      const org = orgOf(manifest, slug);
      for (const by of ["name", "email"] as const) {
        const [first] = (await listMemberships(prisma, org.id, { limit: 1, sortBy: by, sortDir: "asc" })).items;
        expect(first?.userId, `${slug} by ${by}`).toBe(userId);
      }
    }
    // A name cleared: the email stands for it.
    await prisma.user.update({ where: { id: userId as string }, data: { firstName: null, lastName: null } });
    await expectOrdered(await everyPage(orgOf(manifest, "acme").id, "name", "asc"), "name", "asc");
  });

  it("moves an invite to its user's place when the invite is accepted", async () => {
    const prisma = await testDb();
    const acme = orgOf(manifest, "acme");
    const invite = acme.members.find((m) => m.userId === null);
    const user = await prisma.user.create({
      data: { email: "000accepted@acme.test", username: "000accepted", firstName: "Aaa", lastName: "Accepted" },
    });
    await prisma.orgMembership.update({
      where: { id: invite?.membershipId },
      data: { userId: user.id, status: "accepted" },
    });
    const [byName] = (await listMemberships(prisma, acme.id, { limit: 1, sortBy: "name", sortDir: "asc" })).items;
    expect(byName?.id).toBe(invite?.membershipId);
    await expectOrdered(await everyPage(acme.id, "email", "asc"), "email", "asc");
  });

  it("keeps the keys derived: a write that sets them directly is overruled", async () => {
    const prisma = await testDb();
    const acme = orgOf(manifest, "acme");
    const { membershipId } = memberOf(manifest, "acme", "user200@acme.test");
    await prisma.$executeRaw`UPDATE org_memberships SET sort_email = '', sort_name = '' WHERE id = ${membershipId}::uuid`;
    const [row] = await prisma.$queryRaw<{ sort_email: string; sort_name: string }[]>`
      SELECT sort_email, sort_name FROM org_memberships WHERE id = ${membershipId}::uuid`;
    expect(row?.sort_email).toBe("user200@acme.test");
    await expectOrdered(await everyPage(acme.id, "email", "asc"), "email", "asc");
  });

  /** What the search means: email, invite email or "first last" containing the term, any case. */
  const matches = (m: ListedMembership, term: string) =>
    [m.user?.email, m.inviteEmail, m.user && `${m.user.firstName ?? ""} ${m.user.lastName ?? ""}`].some((text) =>
      text?.toLowerCase().includes(term.toLowerCase()),
    );

  it.each(["user01", "USER015@ACME", "invitee0", "acme.test", "zzz-nobody"])(
    "searches %s by what it means, on every page",
    async (term) => {
      const acme = orgOf(manifest, "acme");
      const all = await everyPage(acme.id, "email", "asc");
      const found = await everyPage(acme.id, "email", "asc", term);
      expect(found.map((m) => m.id).sort()).toEqual(
        all
          .filter((m) => matches(m, term))
          .map((m) => m.id)
          .sort(),
      );
    },
  );

  it("finds a name across the space between first and last, after a rename too", async () => {
    const prisma = await testDb();
    const acme = orgOf(manifest, "acme");
    const { userId, membershipId } = memberOf(manifest, "acme", "user042@acme.test");
    await prisma.user.update({ where: { id: userId as string }, data: { firstName: "Grace", lastName: "Hopper" } });
    for (const term of ["race hop", "GRACE HOPPER", "e h"]) {
      const found = await everyPage(acme.id, "email", "asc", term);
      expect(
        found.map((m) => m.id),
        term,
      ).toContain(membershipId);
      const all = await everyPage(acme.id, "email", "asc");
      expect(found.map((m) => m.id).sort(), term).toEqual(
        all
          .filter((m) => matches(m, term))
          .map((m) => m.id)
          .sort(),
      );
    }
  });

  it("takes % and _ in a term literally", async () => {
    const acme = orgOf(manifest, "acme");
    expect(await everyPage(acme.id, "email", "asc", "%")).toEqual([]);
    expect(await everyPage(acme.id, "email", "asc", "user_01")).toEqual([]);
  });

  it("serves a page by its number as the cursor chain reaches it, and refuses a page with a cursor", async () => {
    const prisma = await testDb();
    const acme = orgOf(manifest, "acme");
    const args = { limit: 30, sortBy: "name", sortDir: "asc" } as const;
    const first = await listMemberships(prisma, acme.id, args);
    const second = await listMemberships(prisma, acme.id, { ...args, cursor: first.nextCursor });
    const third = await listMemberships(prisma, acme.id, { ...args, cursor: second.nextCursor });
    expect((await listMemberships(prisma, acme.id, { ...args, page: 3 })).items).toEqual(third.items);
    expect((await listMemberships(prisma, acme.id, { ...args, page: 1 })).items).toEqual(first.items);
    const both = ListMembershipsInput.safeParse({ organizationId: acme.id, cursor: "30", page: 2 });
    expect(both.error?.issues).toMatchObject([{ path: ["page"], message: "Give either a cursor or a page, not both" }]);
    expect(ListMembershipsInput.safeParse({ organizationId: acme.id, page: 0 }).success).toBe(false);
  });
});

describe("the streamed read of a whole organization", () => {
  let manifest: Manifest;
  beforeEach(async () => {
    manifest = await reseed();
  });

  it("gives every membership once, oldest first with ties by id, as the one-query read (its timestamps as Dates) maps them, page by page", async () => {
    const prisma = await testDb();
    const acme = orgOf(manifest, "acme");
    // Ties on created_at, across page boundaries (pages of 7).
    await prisma.$executeRaw`
      UPDATE org_memberships SET created_at = '2026-06-01 00:00:00.123+00'::timestamptz + (abs(hashtext(id::text)) % 3) * interval '1 millisecond'
      WHERE org_id = ${acme.id}::uuid`;
    const pages: number[] = [];
    const streamed = [];
    for await (const page of streamMemberships(prisma, acme.id, 7)) {
      pages.push(page.length);
      streamed.push(...page);
    }
    const expected = (
      await prisma.$queryRaw<Parameters<typeof toMembershipWithUserDto>[0][]>`
        SELECT ${MEMBERSHIP_COLUMNS}, ${USER_COLUMNS}
        FROM org_memberships m LEFT JOIN users u ON u.id = m.user_id
        WHERE m.org_id = ${acme.id}::uuid ORDER BY m.created_at, m.id`
    ).map(toMembershipWithUserDto);
    expect(expected.length).toBeGreaterThan(14);
    expect(streamed).toEqual(expected);
    expect(pages.slice(0, -1).every((n) => n === 7)).toBe(true);
  });

  it("reads each page with sorting off, so the planner walks the index whatever its statistics say", async () => {
    const prisma = await testDb();
    const [fn] = await prisma.$queryRaw<{ config: string[] | null }[]>`
      SELECT proconfig AS config FROM pg_proc WHERE proname = 'org_membership_page'`;
    expect(fn?.config).toEqual(["enable_sort=off"]);
  });
});
