// GET /api/v2/organizations/{id}/memberships on an organization larger than one page of the
// keyset read: the contract's shape, oldest first, every membership once, written as it is read;
// and a failure after the 200 breaks the body rather than ending it as if complete.
import { randomBytes } from "node:crypto";
import { issueAccessToken } from "@roster/api/auth";
import { baseUrl, REQ_ID, testDb } from "@roster/api/testing";
import { Prisma } from "@roster/db";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN, type Fx, Seeded } from "./support/fixtures";
import { JSON_CONTENT_TYPE, membershipsPath } from "./support/http";
import { expectedMembershipWithUser, MEMBERSHIP_KEYS, membershipWithUserSelect } from "./support/snapshots";
import { serverSecret } from "./support/tokens";

const MEMBERS = 2500;
const INVITES = 40;
const seeded = new Seeded();
let fx: Fx;
const orgs: string[] = [];

/**
 * A new organization of `members` users and `invites` invitations, admin@acme.test its admin,
 * created in few distinct instants so that many rows tie on created_at (ties go by id).
 */
async function bigOrganization(members: number, invites: number) {
  const db = await testDb();
  const slug = `stream-${randomBytes(4).toString("hex")}`;
  const org = await db.organization.create({ data: { slug, name: slug }, select: { id: true } });
  orgs.push(org.id);
  const base = new Date("2026-06-01T00:00:00.000Z");
  await db.$executeRaw`
    WITH u AS (
      INSERT INTO users (email, username, first_name, last_name)
      SELECT ${slug} || '-' || g || '@stream.test', ${slug} || '-' || g,
             CASE WHEN g % 3 = 0 THEN NULL ELSE 'First' || g END, CASE WHEN g % 5 = 0 THEN NULL ELSE 'Last' END
      FROM generate_series(1, ${members}::int) g
      RETURNING id)
    INSERT INTO org_memberships (org_id, user_id, role, status, is_active, created_at)
    SELECT ${org.id}::uuid, u.id, 'member'::"OrgRole", 'accepted'::"MembershipStatus", true,
           ${base}::timestamptz + (abs(hashtext(u.id::text)) % 4) * interval '1 millisecond'
    FROM u`;
  await db.$executeRaw`
    INSERT INTO org_memberships (org_id, invite_email, role, status, created_at)
    SELECT ${org.id}::uuid, ${slug} || '-invite-' || g || '@stream.test', 'member'::"OrgRole",
           'invited'::"MembershipStatus", ${base}::timestamptz + (g % 4) * interval '1 millisecond'
    FROM generate_series(1, ${invites}::int) g`;
  await db.orgMembership.create({
    data: { orgId: org.id, userId: fx.userId(ADMIN), role: "admin", status: "accepted", createdAt: base },
  });
  const { token } = await issueAccessToken(db, serverSecret(), { userId: fx.userId(ADMIN), organizationId: org.id });
  return { orgId: org.id, authorization: `Bearer ${token}` };
}

const get = (orgId: string, authorization: string) =>
  fetch(`${baseUrl()}${membershipsPath(orgId)}`, {
    headers: { authorization, "accept-encoding": "identity" },
  });

beforeAll(async () => {
  fx = await seeded.get();
});

afterAll(async () => {
  const db = await testDb();
  await db.$executeRaw`DELETE FROM users WHERE email LIKE 'stream-%@stream.test'`;
  await db.$executeRaw`DELETE FROM organizations WHERE id IN (${Prisma.join(orgs.map((id) => Prisma.sql`${id}::uuid`))})`;
});

describe("GET .../memberships on an organization of several pages", () => {
  it("lists every membership once, oldest first (ties by id), in the contract's shape", async () => {
    const db = await testDb();
    const { orgId, authorization } = await bigOrganization(MEMBERS, INVITES);
    const res = await get(orgId, authorization);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe(JSON_CONTENT_TYPE);
    expect(res.headers.get("x-request-id")).toMatch(REQ_ID);
    const body = (await res.json()) as { users: Record<string, unknown>[] };
    expect(Object.keys(body)).toEqual(["users"]);
    expect(body.users).toHaveLength(MEMBERS + INVITES + 1);
    for (const m of body.users) expect(Object.keys(m).sort()).toEqual([...MEMBERSHIP_KEYS, "user"].sort());

    const rows = await db.orgMembership.findMany({
      where: { orgId },
      orderBy: [{ createdAt: "asc" }, { id: "asc" }],
      select: membershipWithUserSelect,
    });
    expect(body.users).toEqual(rows.map(expectedMembershipWithUser));
    expect(new Set(body.users.map((m) => m.id)).size).toBe(body.users.length);
    expect(body.users.filter((m) => m.user === null)).toHaveLength(INVITES);
  });

  it("streams the body: chunked, no Content-Length, the first chunk arriving before the end", async () => {
    const { orgId, authorization } = await bigOrganization(MEMBERS, 0);
    const res = await get(orgId, authorization);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-length")).toBeNull();
    expect(res.headers.get("transfer-encoding")).toBe("chunked");
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const decoder = new TextDecoder();
    const first = await reader.read();
    expect(first.done).toBe(false);
    let text = decoder.decode(first.value, { stream: true });
    expect(text.startsWith('{"users":[{"id":"')).toBe(true);
    expect(text.endsWith("]}")).toBe(false);
    for (let next = await reader.read(); !next.done; next = await reader.read()) {
      text += decoder.decode(next.value, { stream: true });
    }
    expect((JSON.parse(text) as { users: unknown[] }).users).toHaveLength(MEMBERS + 1);
  });

  it("breaks the body when reading fails after the 200, never ending it as if complete", async () => {
    const db = await testDb();
    const { orgId, authorization } = await bigOrganization(MEMBERS, 0);
    // Past JavaScript's last date (275760-09-13): PostgreSQL stores it, the server cannot
    // represent it. Ordered last, so the failure comes on the last page, after the 200.
    await db.$executeRaw`
      INSERT INTO org_memberships (org_id, invite_email, role, status, created_at)
      VALUES (${orgId}::uuid, 'far-future@stream.test', 'member'::"OrgRole", 'invited'::"MembershipStatus",
              timestamptz '275761-01-01 00:00:00+00')`;
    const res = await get(orgId, authorization);
    expect(res.status).toBe(200);
    await expect(res.text()).rejects.toThrow();
  });
});
