// The bulk delete on tRPC over HTTP (/api/trpc, plain JSON, no transformer): the answer's
// `result.data`, and every failure's `error.data` with the contract's status, name and request id.
import { REQ_ID, testDb } from "@roster/api/testing";
import { beforeEach, describe, expect, it } from "vitest";
import { ADMIN, type Fx, MEMBER, REMOVER, Seeded, UNKNOWN as UNKNOWN_IDS } from "./support/fixtures";
import { trpcPost } from "./support/http";
import { expectedMembership, unchangedProbe } from "./support/snapshots";

const UNKNOWN = UNKNOWN_IDS[0] as string;

const seeded = new Seeded();
let fx: Fx;

/** The wire format of a bulk delete's answer on tRPC over HTTP. */
interface TrpcWire {
  result?: { data: { memberships: Record<string, unknown>[] } };
  error?: { message: string; code: number; data: Record<string, unknown> };
}

describe("tRPC over HTTP (plain JSON, no transformer)", () => {
  beforeEach(async () => {
    fx = await seeded.get();
  });

  it("removes and answers result.data.memberships; the audit batch is the request id", async () => {
    seeded.dirty();
    const db = await testDb();
    const ids = [fx.id("user060@acme.test"), fx.id("invitee05@acme.test")];
    const rows = await db.orgMembership.findMany({
      where: { id: { in: ids } },
      include: { user: { select: { id: true, email: true, username: true, firstName: true, lastName: true } } },
    });
    const res = await trpcPost(
      "organizations.bulkDeleteMemberships",
      { organizationId: fx.acme.id, membershipIds: ids },
      fx.bearer(ADMIN),
    );
    expect(res.status).toBe(200);
    const expected = ids.map((id) =>
      expectedMembership(rows.find((r) => r.id === id) as Parameters<typeof expectedMembership>[0]),
    );
    expect((res.body as TrpcWire).result?.data).toEqual({ memberships: expected });
    const reqId = res.headers.get("x-request-id") as string;
    expect(reqId).toMatch(REQ_ID);
    const events = await db.auditEvent.findMany({ where: { batchId: reqId } });
    expect(events.map((e) => e.targetId).sort()).toEqual([...ids].sort());
    expect(await db.orgMembership.count({ where: { id: { in: ids } } })).toBe(0);
  });

  it.each([
    {
      name: "403 PermissionBoundaryError",
      auth: (f: Fx) => f.bearer(REMOVER),
      input: (f: Fx) => ({ organizationId: f.acme.id, membershipIds: [f.id(ADMIN)] }),
      expected: (f: Fx) => ({
        status: 403,
        error: "PermissionBoundaryError",
        message: `Failed to remove member ${f.id(ADMIN)} from the organization: your privileges do not cover theirs`,
      }),
    },
    {
      name: "403 PermissionDenied with details",
      auth: (f: Fx) => f.bearer(MEMBER),
      input: (f: Fx) => ({ organizationId: f.acme.id, membershipIds: [f.id("user001@acme.test")] }),
      expected: () => ({
        status: 403,
        error: "PermissionDenied",
        message: "You are not allowed to delete on member",
        details: [{ subject: "member", actions: ["read"] }],
      }),
    },
    {
      name: "404 NotFound",
      auth: (f: Fx) => f.bearer(ADMIN),
      input: (f: Fx) => ({ organizationId: f.acme.id, membershipIds: [UNKNOWN] }),
      expected: (f: Fx) => ({
        status: 404,
        error: "NotFound",
        message: `Memberships not found in organization ${f.acme.id}: ${UNKNOWN}`,
      }),
    },
    {
      name: "401 UnauthorizedError with WWW-Authenticate",
      auth: () => null,
      input: (f: Fx) => ({ organizationId: f.acme.id, membershipIds: [] }),
      expected: () => ({ status: 401, error: "UnauthorizedError", message: "Token missing", www: "Bearer" }),
    },
    {
      name: "401 TokenError with WWW-Authenticate invalid_token",
      auth: () => "Bearer not-a-token",
      input: (f: Fx) => ({ organizationId: f.acme.id, membershipIds: [] }),
      expected: () => ({
        status: 401,
        error: "TokenError",
        message:
          "The provided access token is malformed. Please use a valid token or generate a new one and try again.",
        www: 'Bearer error="invalid_token"',
      }),
    },
    {
      name: "422 ValidationFailure with the issues",
      auth: (f: Fx) => f.bearer(ADMIN),
      input: (f: Fx) => ({ organizationId: f.acme.id, membershipIds: ["nope"] }),
      expected: () => ({
        status: 422,
        error: "ValidationFailure",
        issues: [{ code: "invalid_format", path: ["membershipIds", 0], message: "Invalid UUID" }],
      }),
    },
  ])("fails with error.data { httpStatus, error, reqId } and the message: $name", async ({ auth, input, expected }) => {
    const db = await testDb();
    const before = await unchangedProbe(db);
    const res = await trpcPost("organizations.bulkDeleteMemberships", input(fx), auth(fx));
    const want = expected(fx) as {
      status: number;
      error: string;
      message?: string;
      details?: unknown;
      issues?: unknown;
      www?: string;
    };
    expect(res.status).toBe(want.status);
    expect((res.body as TrpcWire).result).toBeUndefined();
    const err = (res.body as TrpcWire).error;
    expect(err?.data).toMatchObject({
      httpStatus: want.status,
      error: want.error,
      reqId: res.headers.get("x-request-id"),
    });
    expect(err?.data.reqId).toMatch(REQ_ID);
    if (want.message) expect(err?.message).toBe(want.message);
    if (want.details) expect(err?.data.details).toEqual(want.details);
    if (want.issues) expect(err?.data.issues).toEqual(want.issues);
    expect(res.headers.get("www-authenticate")).toBe(want.www ?? null);
    expect(await unchangedProbe(db)).toEqual(before);
  });
});
