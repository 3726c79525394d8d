// Ids that PostgreSQL's uuid type stores but that are not RFC 9562 versions or variants (imported
// data): they are listed, removed and answered like any other, on both surfaces. Before, the
// response schema refused them after the removal had committed: a 500 for a removal that happened.
import { testDb } from "@roster/api/testing";
import type { Db } from "@roster/db";
import { beforeAll, describe, expect, it } from "vitest";
import { ADMIN, type Fx, Seeded } from "./support/fixtures";
import { as, describeScenarios, type Scenario } from "./support/scenarios";
import { expectedMembershipWithUser, membershipWithUserSelect } from "./support/snapshots";
import { rest, SURFACES, trpcCallerFor } from "./support/surfaces";

/** Version 1 with the NCS variant, version 0, version f, and the variant bits 111: none is an RFC 9562 id. */
const IMPORTED = {
  memberId: "11111111-1111-1111-1111-111111111111",
  userId: "22222222-2222-2222-2222-222222222222",
  projectMembershipId: "33333333-3333-0333-c333-333333333333",
  inviteId: "abcdef01-2345-0678-c9ab-cdef01234567",
  customMemberId: "12345678-9abc-fdef-e123-456789abcdef",
  customUserId: "44444444-4444-4444-f444-444444444444",
  roleId: "55555555-5555-0555-0555-555555555555",
};
const REMOVED = [IMPORTED.memberId, IMPORTED.inviteId, IMPORTED.customMemberId];

/** The imported rows, written as an import would: straight into the tables, ids and all. */
async function importRows(fx: Fx, db: Db): Promise<void> {
  const orgId = fx.acme.id;
  const projectId = fx.acme.projects[0]?.id;
  if (!projectId) throw new Error("acme has no project");
  await db.$executeRaw`
    INSERT INTO users (id, email, username, first_name, last_name)
    VALUES (${IMPORTED.userId}::uuid, 'imported@acme.test', 'imported', 'Imported', 'User'),
           (${IMPORTED.customUserId}::uuid, 'imported-custom@acme.test', 'imported-custom', NULL, NULL)`;
  await db.$executeRaw`
    INSERT INTO org_roles (id, org_id, slug, name, permissions)
    VALUES (${IMPORTED.roleId}::uuid, ${orgId}::uuid, 'imported-reader', 'Imported reader',
            '[{"subject":"member","actions":["read"]}]'::jsonb)`;
  await db.$executeRaw`
    INSERT INTO org_memberships (id, org_id, user_id, invite_email, role, role_id, status)
    VALUES (${IMPORTED.memberId}::uuid, ${orgId}::uuid, ${IMPORTED.userId}::uuid, NULL, 'member', NULL, 'accepted'),
           (${IMPORTED.inviteId}::uuid, ${orgId}::uuid, NULL, 'imported-invite@acme.test', 'member', NULL, 'invited'),
           (${IMPORTED.customMemberId}::uuid, ${orgId}::uuid, ${IMPORTED.customUserId}::uuid, NULL, 'custom',
            ${IMPORTED.roleId}::uuid, 'accepted')`;
  await db.$executeRaw`
    INSERT INTO project_memberships (id, project_id, user_id)
    VALUES (${IMPORTED.projectMembershipId}::uuid, ${projectId}::uuid, ${IMPORTED.userId}::uuid)`;
}

const SCENARIOS: Scenario[] = [
  {
    name: "200: imported memberships whose ids are not RFC 9562 ids (member, invitation, custom role)",
    setup: importRows,
    as: as(ADMIN),
    ids: () => REMOVED,
    expect: { status: 200, removed: () => REMOVED, projectMembershipsGone: 1 },
  },
  {
    name: "200: the same ids in capitals and padded with white space",
    setup: importRows,
    as: as(ADMIN),
    ids: () => REMOVED.map((id) => `  ${id.toUpperCase()}\t`),
    expect: { status: 200, removed: () => REMOVED },
  },
];

// The file's first seed and first request to the route are the slow ones on a busy machine (the
// embedded database most of all): done once here, under the hooks' longer timeout.
beforeAll(async () => {
  const fx = await new Seeded().get();
  const res = await rest.listMemberships({ authorization: fx.bearer(ADMIN), orgId: fx.acme.id });
  expect(res.status).toBe(200);
});

describeScenarios("bulkDeleteOrgMemberships with imported ids", SCENARIOS);

describe.each(SURFACES)("imported ids over $name", (surface) => {
  const seeded = new Seeded();

  it("are listed with the rest, each as stored", async () => {
    const db = await testDb();
    const fx = await seeded.get();
    seeded.dirty();
    await importRows(fx, db);
    const res = await surface.listMemberships({ authorization: fx.bearer(ADMIN), orgId: fx.acme.id });
    expect(res.status, JSON.stringify(res.http?.body ?? res.message)).toBe(200);
    const listed = (res.data as { users: { id: string }[] }).users;
    const rows = await db.orgMembership.findMany({
      where: { id: { in: REMOVED } },
      select: membershipWithUserSelect,
    });
    expect(rows).toHaveLength(REMOVED.length);
    for (const row of rows) expect(listed.find((m) => m.id === row.id)).toEqual(expectedMembershipWithUser(row));
    expect(listed).toHaveLength(await db.orgMembership.count({ where: { orgId: fx.acme.id } }));
  });

  it("are removed once: a second request for them is a 404 that changes nothing", async () => {
    const db = await testDb();
    const fx = await seeded.get();
    seeded.dirty();
    await importRows(fx, db);
    const call = { authorization: fx.bearer(ADMIN), orgId: fx.acme.id, body: { membershipIds: REMOVED } };
    const first = await surface.bulkDelete(call);
    expect(first.status, JSON.stringify(first.http?.body ?? first.message)).toBe(200);
    const events = await db.auditEvent.count({ where: { targetId: { in: REMOVED } } });
    expect(events).toBe(REMOVED.length);
    const again = await surface.bulkDelete(call);
    expect({ status: again.status, error: again.error }).toEqual({ status: 404, error: "NotFound" });
    expect(await db.auditEvent.count({ where: { targetId: { in: REMOVED } } })).toBe(events);
  });
});

describe("imported ids in the other tRPC reads", () => {
  const seeded = new Seeded();

  it("are previewed and selected like any other", async () => {
    const db = await testDb();
    const fx = await seeded.get();
    seeded.dirty();
    await importRows(fx, db);
    const caller = await trpcCallerFor(fx.bearer(ADMIN));
    const preview = await caller.organizations.previewBulkDeleteMemberships({
      organizationId: fx.acme.id,
      membershipIds: REMOVED,
    });
    expect(preview.memberships.map((m) => m.id)).toEqual(REMOVED);
    expect(preview.projectMembershipCount).toBe(1);
    expect(preview.blocker).toBeNull();
    const selected = await caller.organizations.listMembershipIds({ organizationId: fx.acme.id, search: "imported" });
    expect([...selected.ids].sort()).toEqual([...REMOVED].sort());
  });
});
