// bulkDeleteOrgMemberships, the contract's table (bulk-delete-memberships.md) row by row through
// both surfaces, REST over real HTTP and tRPC through a server-side caller (see
// support/scenarios.ts): checks 1 to 8, who is calling and what was sent. The rules (9 to 13),
// the order of the checks and the 200s are in bulk-delete-scenarios-rules and
// bulk-delete-scenarios-removals.
import { randomUUID } from "node:crypto";
import { revokeSession } from "@roster/api/auth";
import { badUuid, claimsOf, issue, MAX_BULK_DELETE, MiB, MSG } from "@roster/api/testing";
import { ADMIN, MEMBER, sessionToken, UNKNOWN } from "./support/fixtures";
import {
  as,
  describeScenarios,
  idsOf,
  jsonRequest,
  methodNotAllowed,
  paddedEmptyBody,
  type Scenario,
} from "./support/scenarios";
import { forgeBearer, serverSecret, signJwt } from "./support/tokens";

const SCENARIOS: Scenario[] = [
  // 1: no bearer token
  {
    name: "1: no Authorization header",
    as: () => null,
    expect: { status: 401, error: "UnauthorizedError", message: MSG.tokenMissing },
  },
  {
    name: "1: a Basic Authorization header",
    as: () => "Basic YWRtaW46cGFzcw==",
    expect: { status: 401, error: "UnauthorizedError", message: MSG.tokenMissing },
  },
  {
    name: "1: 'Bearer' without a token",
    as: () => "Bearer ",
    expect: { status: 401, error: "UnauthorizedError", message: MSG.tokenMissing },
  },

  // 2: the token itself
  {
    name: "2: a token that is no JWT",
    as: () => "Bearer not-a-token",
    expect: { status: 401, error: "TokenError", message: MSG.malformed },
  },
  {
    name: "2: a token of two parts",
    as: (fx) => `Bearer ${fx.bearer(ADMIN).slice(7).split(".").slice(0, 2).join(".")}`,
    expect: { status: 401, error: "TokenError", message: MSG.malformed },
  },
  {
    name: "2: well signed, but claims of the wrong shape",
    as: (fx) => forgeBearer(fx.bearer(ADMIN), { userId: "admin", tokenVersionId: 7 }),
    expect: { status: 401, error: "TokenError", message: MSG.malformed },
  },
  {
    name: "2: alg none, unsigned",
    as: (fx) => forgeBearer(fx.bearer(ADMIN), {}, { alg: "none", hmac: null }),
    expect: { status: 401, error: "TokenError", message: MSG.badAlgorithm },
  },
  {
    name: "2: HS512 with the server's secret",
    as: (fx) => forgeBearer(fx.bearer(ADMIN), {}, { alg: "HS512", hmac: { hash: "sha512", secret: serverSecret() } }),
    expect: { status: 401, error: "TokenError", message: MSG.badAlgorithm },
  },
  {
    name: "2: RS256 header over an HMAC signature",
    as: (fx) => forgeBearer(fx.bearer(ADMIN), {}, { alg: "RS256" }),
    expect: { status: 401, error: "TokenError", message: MSG.badAlgorithm },
  },
  {
    name: "2: HS256 with another secret",
    as: (fx) =>
      forgeBearer(
        fx.bearer(ADMIN),
        {},
        { hmac: { hash: "sha256", secret: "another-secret-another-secret-another-secret" } },
      ),
    expect: { status: 401, error: "TokenError", message: MSG.invalid },
  },
  {
    name: "2: a real token whose claims were edited",
    as: (fx) => {
      const [h, , sig] = fx.bearer(ADMIN).slice(7).split(".");
      const edited = signJwt({}, { ...claimsOf(fx.bearer(ADMIN)), organizationId: fx.globex.id }, null).split(".")[1];
      return `Bearer ${h}.${edited}.${sig}`;
    },
    expect: { status: 401, error: "TokenError", message: MSG.invalid },
  },
  {
    name: "2: a refresh token",
    as: (fx) => forgeBearer(fx.bearer(ADMIN), { authTokenType: "refreshToken" }),
    expect: { status: 401, error: "TokenError", message: MSG.invalid },
  },
  {
    name: "2: an expired token",
    as: (fx) => {
      const now = Math.floor(Date.now() / 1000);
      return forgeBearer(fx.bearer(ADMIN), { iat: now - 7200, exp: now - 60 });
    },
    expect: { status: 401, error: "TokenError", message: MSG.expired },
  },

  // 3: the session behind the token
  {
    name: "3: the session was revoked (sign-out)",
    as: (fx, db) => sessionToken(fx, db, ADMIN, (id) => revokeSession(db, id)),
    expect: { status: 401, error: "StaleSession", message: MSG.stale },
  },
  {
    name: "3: the session's access version was bumped",
    as: (fx, db) =>
      sessionToken(fx, db, ADMIN, (id) =>
        db.authSession.update({ where: { id }, data: { accessVersion: { increment: 1 } } }),
      ),
    expect: { status: 401, error: "StaleSession", message: MSG.stale },
  },
  {
    name: "3: the session has expired on the server",
    as: (fx, db) =>
      sessionToken(fx, db, ADMIN, (id) =>
        db.authSession.update({ where: { id }, data: { expiresAt: new Date(Date.now() - 1000) } }),
      ),
    expect: { status: 401, error: "StaleSession", message: MSG.stale },
  },
  {
    name: "3: the session is another user's",
    as: (fx) => forgeBearer(fx.bearer(ADMIN), { tokenVersionId: claimsOf(fx.bearer(MEMBER)).tokenVersionId }),
    expect: { status: 401, error: "StaleSession", message: MSG.stale },
  },

  // 4: no organization in the token
  {
    name: "4: a token without an organization",
    as: (fx) => forgeBearer(fx.bearer(ADMIN), { organizationId: undefined }),
    expect: { status: 401, error: "UnauthorizedError", message: MSG.noOrganization },
  },

  // 5: the caller's membership of the token's organization
  {
    name: "5: a member removed since the token was issued",
    setup: async (fx, db) => {
      await db.orgMembership.delete({ where: { id: fx.id(MEMBER) } });
    },
    as: as(MEMBER),
    ids: idsOf("user001@acme.test"),
    expect: { status: 403, error: "ForbiddenError", message: MSG.notMember },
  },
  {
    name: "5: a user of another organization with a token naming this one",
    as: (fx) => forgeBearer(fx.bearer("user001@globex.test", "globex"), { organizationId: fx.acme.id }),
    expect: { status: 403, error: "ForbiddenError", message: MSG.notMember },
  },
  {
    name: "5: an inactive member",
    as: as("inactive01@acme.test"),
    ids: idsOf("user001@acme.test"),
    expect: { status: 403, error: "ForbiddenError", message: MSG.inactive },
  },

  // 6: the body as bytes (REST only)
  {
    name: "6: malformed JSON",
    restOnly: true,
    as: as(ADMIN),
    request: jsonRequest('{"membershipIds": ['),
    expect: { status: 400, error: "BadRequest", message: MSG.badJson },
  },
  {
    name: "6: Content-Type text/plain",
    restOnly: true,
    as: as(ADMIN),
    request: jsonRequest('{"membershipIds":[]}', "text/plain"),
    expect: { status: 400, error: "BadRequest", message: MSG.badJson },
  },
  {
    name: "6: no Content-Type",
    restOnly: true,
    as: as(ADMIN),
    request: jsonRequest(new TextEncoder().encode('{"membershipIds":[]}'), null),
    expect: { status: 400, error: "BadRequest", message: MSG.badJson },
  },
  {
    name: "6: an empty body",
    restOnly: true,
    as: as(ADMIN),
    request: jsonRequest(""),
    expect: { status: 400, error: "BadRequest", message: MSG.badJson },
  },
  {
    name: "6: a body that is not UTF-8",
    restOnly: true,
    as: as(ADMIN),
    request: jsonRequest(new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d])),
    expect: { status: 400, error: "BadRequest", message: MSG.badJson },
  },
  {
    name: "6: a body of 1 MiB + 1 byte",
    restOnly: true,
    as: as(ADMIN),
    request: jsonRequest(paddedEmptyBody(MiB + 1)),
    expect: { status: 413, error: "PayloadTooLarge", message: MSG.tooLarge },
  },
  {
    name: "6: a body of 3 MiB of ids",
    restOnly: true,
    as: as(ADMIN),
    request: jsonRequest(JSON.stringify({ membershipIds: Array.from({ length: 80_000 }, () => randomUUID()) })),
    expect: { status: 413, error: "PayloadTooLarge", message: MSG.tooLarge },
  },
  methodNotAllowed("POST"),
  methodNotAllowed("PUT"),
  methodNotAllowed("PATCH"),

  // 7: the schema
  {
    name: "7: a non-UUID id",
    as: as(ADMIN),
    ids: () => ["not-a-uuid"],
    expect: { status: 422, error: "ValidationFailure", message: [badUuid(["membershipIds", 0])] },
  },
  {
    name: "7: a non-UUID id after valid ones",
    as: as(ADMIN),
    ids: (fx) => [fx.id("user001@acme.test"), fx.id("user002@acme.test"), "  "],
    expect: { status: 422, error: "ValidationFailure", message: [badUuid(["membershipIds", 2])] },
  },
  {
    name: "7: an id that is not a string",
    as: as(ADMIN),
    body: () => ({ membershipIds: [42] }),
    expect: {
      status: 422,
      error: "ValidationFailure",
      message: [issue("invalid_type", ["membershipIds", 0], "Invalid input: expected string, received number")],
    },
  },
  {
    name: "7: an unknown key",
    as: as(ADMIN),
    body: (fx) => ({ membershipIds: [fx.id("user001@acme.test")], force: true }),
    expect: {
      status: 422,
      error: "ValidationFailure",
      message: [issue("unrecognized_keys", [], 'Unrecognized key: "force"')],
    },
  },
  {
    name: "7: membershipIds missing",
    as: as(ADMIN),
    body: () => ({}),
    expect: {
      status: 422,
      error: "ValidationFailure",
      message: [issue("invalid_type", ["membershipIds"], "Invalid input: expected array, received undefined")],
    },
  },
  {
    name: "7: membershipIds not an array",
    as: as(ADMIN),
    body: (fx) => ({ membershipIds: fx.id("user001@acme.test") }),
    expect: {
      status: 422,
      error: "ValidationFailure",
      message: [issue("invalid_type", ["membershipIds"], "Invalid input: expected array, received string")],
    },
  },
  {
    name: "7: the body is an array",
    restOnly: true,
    as: as(ADMIN),
    body: (fx) => [fx.id("user001@acme.test")],
    expect: {
      status: 422,
      error: "ValidationFailure",
      message: [issue("invalid_type", [], "Invalid input: expected object, received array")],
    },
  },
  {
    name: "7: the body is null",
    restOnly: true,
    as: as(ADMIN),
    body: () => null,
    expect: {
      status: 422,
      error: "ValidationFailure",
      message: [issue("invalid_type", [], "Invalid input: expected object, received null")],
    },
  },
  {
    name: `7: ${MAX_BULK_DELETE + 1} ids, one over MAX_BULK_DELETE`,
    as: as(ADMIN),
    ids: () => Array.from({ length: MAX_BULK_DELETE + 1 }, () => randomUUID()),
    expect: {
      status: 422,
      error: "ValidationFailure",
      message: [
        issue("too_big", ["membershipIds"], `At most ${MAX_BULK_DELETE} membership ids can be deleted in one request`),
      ],
    },
  },
  {
    name: "7: a path organization id that is not a UUID",
    as: as(ADMIN),
    org: () => "acme",
    ids: idsOf("user001@acme.test"),
    expect: { status: 422, error: "ValidationFailure", message: [badUuid(["organizationId"])] },
  },

  // 8: the token's organization and the path's
  {
    name: "8: an acme token on globex's path",
    as: as(ADMIN),
    org: (fx) => fx.globex.id,
    ids: (fx) => [fx.id("user001@globex.test", "globex")],
    expect: { status: 403, error: "ForbiddenError", message: (fx) => MSG.scope(fx.acme.id) },
  },
  {
    name: "8: a globex token on acme's path",
    as: as("admin@globex.test", "globex"),
    ids: idsOf("user001@acme.test"),
    expect: { status: 403, error: "ForbiddenError", message: (fx) => MSG.scope(fx.globex.id) },
  },
  {
    name: "8: an organization that does not exist",
    as: as(ADMIN),
    org: () => UNKNOWN[0] as string,
    expect: { status: 403, error: "ForbiddenError", message: (fx) => MSG.scope(fx.acme.id) },
  },
];

describeScenarios("bulk delete, checks 1 to 8", SCENARIOS);
