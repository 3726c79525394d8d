// bulkDeleteOrgMemberships, the contract's table through both surfaces (see support/scenarios.ts):
// checks 9 to 13, the rules of a removal, and the order of the checks (when two fail, the earlier
// answers).
import { badUuid, MiB, MSG } from "@roster/api/testing";
import { ADMIN, ADMIN2, grantEverything, MEMBER, manyUnknown, NOACCESS, REMOVER, UNKNOWN } from "./support/fixtures";
import { membershipsPath } from "./support/http";
import { as, describeScenarios, idsOf, jsonRequest, paddedEmptyBody, type Scenario } from "./support/scenarios";
import { forgeBearer } from "./support/tokens";

const SCENARIOS: Scenario[] = [
  // 9: delete on member
  {
    name: "9: member@acme.test (read only)",
    as: as(MEMBER),
    ids: idsOf("user001@acme.test"),
    expect: {
      status: 403,
      error: "PermissionDenied",
      message: MSG.denied,
      details: [{ subject: "member", actions: ["read"] }],
    },
  },
  {
    name: "9: noaccess@acme.test",
    as: as(NOACCESS),
    ids: idsOf("user001@acme.test"),
    expect: { status: 403, error: "PermissionDenied", message: MSG.denied, details: [] },
  },

  // 10: the caller's own membership
  {
    name: "10: admin names only itself",
    as: as(ADMIN),
    ids: idsOf(ADMIN),
    expect: { status: 400, error: "BadRequest", message: MSG.self },
  },
  {
    name: "10: admin names itself among others, padded with white space",
    as: as(ADMIN),
    ids: (fx) => [fx.id("user001@acme.test"), ` ${fx.id(ADMIN)}\t`],
    expect: { status: 400, error: "BadRequest", message: MSG.self },
  },
  {
    name: "10: the remover names itself",
    as: as(REMOVER),
    ids: idsOf(REMOVER),
    expect: { status: 400, error: "BadRequest", message: MSG.self },
  },
  {
    name: "10: admin names itself in upper case",
    as: as(ADMIN),
    ids: (fx) => [fx.id(ADMIN).toUpperCase()],
    expect: { status: 400, error: "BadRequest", message: MSG.self },
  },

  // 11: ids that are not memberships of this organization
  {
    name: "11: an unknown id",
    as: as(ADMIN),
    ids: () => [UNKNOWN[0] as string],
    expect: { status: 404, error: "NotFound", message: (fx) => MSG.notFound(fx.acme.id, [UNKNOWN[0] as string]) },
  },
  {
    name: "11: a globex membership while in acme",
    as: as(ADMIN),
    ids: (fx) => [fx.id("user001@globex.test", "globex")],
    expect: {
      status: 404,
      error: "NotFound",
      message: (fx) => MSG.notFound(fx.acme.id, [fx.id("user001@globex.test", "globex")]),
    },
  },
  {
    name: "11: acme and globex memberships mixed: nothing goes",
    as: as(ADMIN),
    ids: (fx) => [fx.id("user001@acme.test"), fx.id("user002@globex.test", "globex"), fx.id("user003@acme.test")],
    expect: {
      status: 404,
      error: "NotFound",
      message: (fx) => MSG.notFound(fx.acme.id, [fx.id("user002@globex.test", "globex")]),
    },
  },
  {
    name: "11: found and unknown mixed: only the missing, in the order given, trimmed, once",
    as: as(ADMIN),
    ids: (fx) =>
      [
        UNKNOWN[1],
        fx.id("user001@acme.test"),
        ` ${UNKNOWN[0]} `,
        fx.id("invitee01@acme.test"),
        UNKNOWN[1],
        UNKNOWN[2],
      ] as string[],
    expect: {
      status: 404,
      error: "NotFound",
      message: (fx) => MSG.notFound(fx.acme.id, [UNKNOWN[1], UNKNOWN[0], UNKNOWN[2]] as string[]),
    },
  },
  {
    name: "11: a machine identity's membership is not a user membership",
    setup: async (fx, db) => {
      const identity = await db.identity.create({
        data: { orgId: fx.acme.id, name: "ci-bot", membership: { create: { orgId: fx.acme.id, role: "member" } } },
        select: { membership: { select: { id: true } } },
      });
      fx.vars.identity = [identity.membership?.id as string];
    },
    as: as(ADMIN),
    ids: (fx) => [fx.id("user001@acme.test"), ...(fx.vars.identity as string[])],
    expect: { status: 404, error: "NotFound", message: (fx) => MSG.notFound(fx.acme.id, fx.vars.identity as string[]) },
  },
  {
    name: "11: 25 unknown ids: 20 listed, then 'and 5 more'",
    as: as(ADMIN),
    ids: (fx) => [fx.id("user001@acme.test"), ...manyUnknown(25)],
    expect: { status: 404, error: "NotFound", message: (fx) => MSG.notFound(fx.acme.id, manyUnknown(20), 5) },
  },
  {
    name: "11: exactly 20 unknown ids: no 'more'",
    as: as(ADMIN),
    ids: () => manyUnknown(20),
    expect: { status: 404, error: "NotFound", message: (fx) => MSG.notFound(fx.acme.id, manyUnknown(20)) },
  },

  // 12: the permission boundary
  {
    name: "12: the remover targets an admin",
    as: as(REMOVER),
    ids: idsOf(ADMIN),
    expect: { status: 403, error: "PermissionBoundaryError", message: (fx) => MSG.boundary(fx.id(ADMIN)) },
  },
  {
    name: "12: the remover targets members and two admins: the first admin given is named",
    as: as(REMOVER),
    ids: idsOf("user001@acme.test", ADMIN2, "user002@acme.test", ADMIN),
    expect: { status: 403, error: "PermissionBoundaryError", message: (fx) => MSG.boundary(fx.id(ADMIN2)) },
  },

  // 13: the last admin
  {
    name: "13: a role that covers admins removes both admins",
    setup: (fx, db) => grantEverything(fx, db, NOACCESS),
    as: as(NOACCESS),
    ids: idsOf(ADMIN, ADMIN2),
    expect: { status: 400, error: "BadRequest", message: MSG.lastAdmin },
  },
  {
    name: "13: the other admin is inactive, so removing the one active admin is refused",
    setup: async (fx, db) => {
      await grantEverything(fx, db, NOACCESS);
      await db.orgMembership.update({ where: { id: fx.id(ADMIN2) }, data: { isActive: false } });
    },
    as: as(NOACCESS),
    ids: idsOf(ADMIN, "user001@acme.test"),
    expect: { status: 400, error: "BadRequest", message: MSG.lastAdmin },
  },
  {
    name: "13: the other admin has not accepted, so removing the one accepted admin is refused",
    setup: async (fx, db) => {
      await grantEverything(fx, db, NOACCESS);
      await db.orgMembership.update({ where: { id: fx.id(ADMIN2) }, data: { status: "invited" } });
    },
    as: as(NOACCESS),
    ids: idsOf(ADMIN),
    expect: { status: 400, error: "BadRequest", message: MSG.lastAdmin },
  },

  // The order of the checks: when two fail, the earlier answers.
  {
    name: "order 1<7: no token and an invalid body",
    as: () => null,
    body: () => ({ membershipIds: "x", extra: 1 }),
    expect: { status: 401, error: "UnauthorizedError", message: MSG.tokenMissing },
  },
  {
    name: "order 2<5: an expired token of an inactive member",
    as: (fx) => forgeBearer(fx.bearer("inactive01@acme.test"), { exp: Math.floor(Date.now() / 1000) - 1 }),
    expect: { status: 401, error: "TokenError", message: MSG.expired },
  },
  {
    name: "order 1<6: no token and malformed JSON",
    restOnly: true,
    as: () => null,
    request: jsonRequest("{"),
    expect: { status: 401, error: "UnauthorizedError", message: MSG.tokenMissing },
  },
  {
    name: "order 5<6: an inactive member and malformed JSON",
    restOnly: true,
    as: as("inactive01@acme.test"),
    request: jsonRequest("{"),
    expect: { status: 403, error: "ForbiddenError", message: MSG.inactive },
  },
  {
    name: "order 6<7: malformed JSON on a non-UUID path",
    restOnly: true,
    as: as(ADMIN),
    request: jsonRequest("{", "application/json", () => membershipsPath("acme")),
    expect: { status: 400, error: "BadRequest", message: MSG.badJson },
  },
  {
    name: "order 6<8: too large, on another organization's path",
    restOnly: true,
    as: as(ADMIN),
    request: jsonRequest(paddedEmptyBody(MiB + 1), "application/json", () => membershipsPath(UNKNOWN[0] as string)),
    expect: { status: 413, error: "PayloadTooLarge", message: MSG.tooLarge },
  },
  {
    name: "order 6<9: member@acme.test sends malformed JSON",
    restOnly: true,
    as: as(MEMBER),
    request: jsonRequest("{"),
    expect: { status: 400, error: "BadRequest", message: MSG.badJson },
  },
  {
    name: "order 5<7: an inactive member sends an invalid body",
    as: as("inactive01@acme.test"),
    ids: () => ["nope"],
    expect: { status: 403, error: "ForbiddenError", message: MSG.inactive },
  },
  {
    name: "order 7<8: an invalid body on another organization's path",
    as: as(ADMIN),
    org: (fx) => fx.globex.id,
    ids: () => ["nope"],
    expect: { status: 422, error: "ValidationFailure", message: [badUuid(["membershipIds", 0])] },
  },
  {
    name: "order 8<9: member@acme.test on globex's path",
    as: as(MEMBER),
    org: (fx) => fx.globex.id,
    ids: (fx) => [fx.id("user001@globex.test", "globex")],
    expect: { status: 403, error: "ForbiddenError", message: (fx) => MSG.scope(fx.acme.id) },
  },
  {
    name: "order 8<10: admin names itself on globex's path",
    as: as(ADMIN),
    org: (fx) => fx.globex.id,
    ids: idsOf(ADMIN),
    expect: { status: 403, error: "ForbiddenError", message: (fx) => MSG.scope(fx.acme.id) },
  },
  {
    name: "order 9<10: member@acme.test names itself",
    as: as(MEMBER),
    ids: idsOf(MEMBER),
    expect: {
      status: 403,
      error: "PermissionDenied",
      message: MSG.denied,
      details: [{ subject: "member", actions: ["read"] }],
    },
  },
  {
    name: "order 9: member@acme.test with an empty list",
    as: as(MEMBER),
    ids: () => [],
    expect: {
      status: 403,
      error: "PermissionDenied",
      message: MSG.denied,
      details: [{ subject: "member", actions: ["read"] }],
    },
  },
  {
    name: "order 10<11: admin names itself and an unknown id",
    as: as(ADMIN),
    ids: (fx) => [UNKNOWN[0] as string, fx.id(ADMIN)],
    expect: { status: 400, error: "BadRequest", message: MSG.self },
  },
  {
    name: "order 11<12: the remover names an unknown id and an admin",
    as: as(REMOVER),
    ids: (fx) => [fx.id(ADMIN), UNKNOWN[0] as string],
    expect: { status: 404, error: "NotFound", message: (fx) => MSG.notFound(fx.acme.id, [UNKNOWN[0] as string]) },
  },
  {
    name: "order 11<13: both admins and an unknown id, by a role that covers admins",
    setup: (fx, db) => grantEverything(fx, db, NOACCESS),
    as: as(NOACCESS),
    ids: (fx) => [fx.id(ADMIN), fx.id(ADMIN2), UNKNOWN[2] as string],
    expect: { status: 404, error: "NotFound", message: (fx) => MSG.notFound(fx.acme.id, [UNKNOWN[2] as string]) },
  },
  {
    name: "order 12<13: the remover names both admins",
    as: as(REMOVER),
    ids: idsOf(ADMIN, ADMIN2),
    expect: { status: 403, error: "PermissionBoundaryError", message: (fx) => MSG.boundary(fx.id(ADMIN)) },
  },
];

describeScenarios("bulk delete, checks 9 to 13 and their order", SCENARIOS);
