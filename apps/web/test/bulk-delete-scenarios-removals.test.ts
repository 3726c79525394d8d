// bulkDeleteOrgMemberships, the 200s through both surfaces (see support/scenarios.ts): each
// removes exactly the memberships it names, their project memberships in this organization (with
// their role rows) and nothing else, answers the contract's 14 keys in the order first given, and
// records one audit event per membership under the request id.
import { MAX_BULK_DELETE, MiB } from "@roster/api/testing";
import { ADMIN, ADMIN2, grantEverything, MEMBER, NOACCESS, REMOVER, users } from "./support/fixtures";
import { membershipsPath } from "./support/http";
import { shuffled } from "./support/random";
import { as, describeScenarios, idsOf, jsonRequest, paddedEmptyBody, type Scenario } from "./support/scenarios";

const SCENARIOS: Scenario[] = [
  // 200
  {
    name: "200: three plain members, with their six project memberships",
    as: as(ADMIN),
    ids: idsOf("user001@acme.test", "user002@acme.test", "user003@acme.test"),
    expect: {
      status: 200,
      removed: idsOf("user001@acme.test", "user002@acme.test", "user003@acme.test"),
      projectMembershipsGone: 6,
    },
  },
  {
    name: "200: invitations (userId null)",
    as: as(ADMIN),
    ids: idsOf("invitee02@acme.test", "invitee01@acme.test"),
    expect: { status: 200, removed: idsOf("invitee02@acme.test", "invitee01@acme.test"), projectMembershipsGone: 0 },
  },
  {
    name: "200: inactive members",
    as: as(ADMIN),
    ids: idsOf("inactive01@acme.test", "inactive05@acme.test"),
    expect: { status: 200, removed: idsOf("inactive01@acme.test", "inactive05@acme.test") },
  },
  {
    name: "200: no-access, custom and member roles (member@acme.test keeps globex)",
    as: as(ADMIN),
    ids: idsOf(NOACCESS, REMOVER, MEMBER),
    expect: { status: 200, removed: idsOf(NOACCESS, REMOVER, MEMBER) },
  },
  {
    name: "200: one of each kind",
    as: as(ADMIN2),
    ids: idsOf("invitee03@acme.test", "user008@acme.test", "inactive03@acme.test", ADMIN),
    expect: {
      status: 200,
      removed: idsOf("invitee03@acme.test", "user008@acme.test", "inactive03@acme.test", ADMIN),
      projectMembershipsGone: 2,
    },
  },
  {
    name: "200: duplicates and white space count once, in the order first given",
    as: as(ADMIN),
    ids: (fx) => {
      const [a, b, c] = idsOf("user015@acme.test", "user004@acme.test", "user022@acme.test")(fx) as [
        string,
        string,
        string,
      ];
      return [a, ` ${b} `, a, `\t${c}\n`, b, `${a}  `];
    },
    expect: {
      status: 200,
      removed: idsOf("user015@acme.test", "user004@acme.test", "user022@acme.test"),
      projectMembershipsGone: 6,
    },
  },
  {
    name: "200: upper-case ids name the same memberships; one given in both cases counts once",
    as: as(ADMIN),
    ids: (fx) => [fx.id("user005@acme.test").toUpperCase(), fx.id("user006@acme.test"), fx.id("user005@acme.test")],
    expect: { status: 200, removed: idsOf("user005@acme.test", "user006@acme.test"), projectMembershipsGone: 4 },
  },
  {
    name: "200: the path's organization id in upper case",
    as: as(ADMIN),
    org: (fx) => fx.acme.id.toUpperCase(),
    ids: idsOf("user007@acme.test"),
    expect: { status: 200, removed: idsOf("user007@acme.test") },
  },
  {
    name: "200: a user's project memberships in another organization stay",
    setup: async (fx, db) => {
      const projects = await db.project.findMany({
        where: { orgId: { in: [fx.acme.id, fx.globex.id] } },
        select: { id: true },
      });
      for (const project of projects) {
        await db.projectMembership.create({
          data: {
            projectId: project.id,
            userId: fx.userId(MEMBER),
            roles: { create: [{ role: "viewer" }, { role: "member" }] },
          },
        });
      }
    },
    as: as(ADMIN),
    ids: idsOf(MEMBER),
    expect: { status: 200, removed: idsOf(MEMBER), projectMembershipsGone: 3 },
  },
  {
    name: "200: an empty list removes nothing and records nothing",
    as: as(ADMIN),
    ids: () => [],
    expect: { status: 200, removed: () => [] },
  },
  {
    name: "200: an admin removes the other admin",
    as: as(ADMIN),
    ids: idsOf(ADMIN2),
    expect: { status: 200, removed: idsOf(ADMIN2) },
  },
  {
    name: "200: the custom remover removes members",
    as: as(REMOVER),
    ids: idsOf("user010@acme.test", NOACCESS, "invitee04@acme.test"),
    expect: { status: 200, removed: idsOf("user010@acme.test", NOACCESS, "invitee04@acme.test") },
  },
  {
    name: "200: a role that covers admins removes one admin while another stays",
    setup: (fx, db) => grantEverything(fx, db, NOACCESS),
    as: as(NOACCESS),
    ids: idsOf(ADMIN, "user050@acme.test"),
    expect: { status: 200, removed: idsOf(ADMIN, "user050@acme.test") },
  },
  {
    name: "200: an inactive admin may go (no active admin is removed)",
    setup: async (fx, db) => {
      await db.orgMembership.update({ where: { id: fx.id(ADMIN2) }, data: { isActive: false } });
    },
    as: as(ADMIN),
    ids: idsOf(ADMIN2),
    expect: { status: 200, removed: idsOf(ADMIN2) },
  },
  {
    name: `200: exactly ${MAX_BULK_DELETE} ids`,
    setup: async (fx, db) => {
      const extra = MAX_BULK_DELETE - 200;
      const created = await db.user.createManyAndReturn({
        data: Array.from({ length: extra }, (_, i) => ({
          email: `bulk${i}@acme.test`,
          username: `bulk${i}@acme.test`,
        })),
        select: { id: true },
      });
      const memberships = await db.orgMembership.createManyAndReturn({
        data: created.map((u) => ({
          orgId: fx.acme.id,
          userId: u.id,
          role: "member" as const,
          status: "accepted" as const,
        })),
        select: { id: true },
      });
      fx.vars.bulk = shuffled([...memberships.map((m) => m.id), ...users(1, 200).map((e) => fx.id(e))]);
      // a machine identity's membership beside them stays
      await db.identity.create({
        data: { orgId: fx.acme.id, name: "ci-bot", membership: { create: { orgId: fx.acme.id, role: "member" } } },
      });
    },
    as: as(ADMIN),
    ids: (fx) => fx.vars.bulk as string[],
    expect: { status: 200, removed: (fx) => fx.vars.bulk as string[], projectMembershipsGone: 400 },
  },
  {
    name: "200: with a trailing slash",
    restOnly: true,
    as: as(ADMIN),
    request: (fx, authorization, orgId) =>
      jsonRequest(
        JSON.stringify({ membershipIds: idsOf("user030@acme.test")(fx) }),
        "application/json",
        () => `${membershipsPath(orgId)}/`,
      )(fx, authorization, orgId),
    expect: { status: 200, removed: idsOf("user030@acme.test") },
  },
  {
    name: "200: Content-Type application/json; charset=utf-8",
    restOnly: true,
    as: as(ADMIN),
    request: (fx, authorization, orgId) =>
      jsonRequest(JSON.stringify({ membershipIds: idsOf("user031@acme.test")(fx) }), "application/json; charset=utf-8")(
        fx,
        authorization,
        orgId,
      ),
    expect: { status: 200, removed: idsOf("user031@acme.test") },
  },
  {
    name: "200: a body of exactly 1 MiB",
    restOnly: true,
    as: as(ADMIN),
    request: jsonRequest(paddedEmptyBody(MiB)),
    expect: { status: 200, removed: () => [] },
  },
];

describeScenarios("bulk delete, 200", SCENARIOS);
