// What goes with bulkDeleteOrgMemberships beyond its table: a removed member's tokens, the
// companion read (GET .../memberships and listMemberships), the tRPC wire format over HTTP, the
// preview procedure.

import { baseUrl, REQ_ID, testDb } from "@roster/api/testing";
import { beforeEach, describe, expect, it } from "vitest";
import { MSG } from "./support/contract";
import {
  ADMIN,
  ADMIN2,
  type Fx,
  grantEverything,
  MEMBER,
  NOACCESS,
  REMOVER,
  Seeded,
  UNKNOWN as UNKNOWN_IDS,
} from "./support/fixtures";
import { JSON_CONTENT_TYPE, LOOPBACK, membershipsPath, sendRaw } from "./support/http";
import {
  expectedMembership,
  expectedMembershipWithUser,
  MEMBERSHIP_KEYS,
  membershipWithUserSelect,
  unchangedProbe,
} from "./support/snapshots";
import { rest, restHeaders, SURFACES, trpc, trpcCallerFor } from "./support/surfaces";

const UNKNOWN = UNKNOWN_IDS[0] as string;
const NOT_MEMBER = { status: 403, error: "ForbiddenError", message: MSG.notMember };
const LAST_ADMIN = MSG.lastAdmin;

const seeded = new Seeded();
let fx: Fx;

describe.each(SURFACES)("a member removed over $name", (surface) => {
  beforeEach(async () => {
    fx = await seeded.get();
    seeded.dirty(); // the test removes a member
  });

  it("is refused at its very next request on both surfaces, and keeps its account and its other organization", async () => {
    const db = await testDb();
    const member = fx.bearer(MEMBER);
    // the token works up to the removal
    expect((await rest.listMemberships({ authorization: member, orgId: fx.acme.id })).status).toBe(200);

    const removed = await surface.bulkDelete({
      authorization: fx.bearer(ADMIN),
      orgId: fx.acme.id,
      body: { membershipIds: [fx.id(MEMBER)] },
    });
    expect(removed.status).toBe(200);

    for (const next of SURFACES) {
      const del = await next.bulkDelete({
        authorization: member,
        orgId: fx.acme.id,
        body: { membershipIds: [fx.id("user001@acme.test")] },
      });
      expect({ status: del.status, error: del.error, message: del.message }, next.name).toEqual(NOT_MEMBER);
      const list = await next.listMemberships({ authorization: member, orgId: fx.acme.id });
      expect({ status: list.status, error: list.error, message: list.message }, next.name).toEqual(NOT_MEMBER);
    }

    // the user row and the globex membership stay, and the globex token still works
    expect(await db.user.count({ where: { id: fx.userId(MEMBER) } })).toBe(1);
    expect(await db.orgMembership.count({ where: { id: fx.id(MEMBER, "globex") } })).toBe(1);
    for (const next of SURFACES) {
      const list = await next.listMemberships({ authorization: fx.bearer(MEMBER, "globex"), orgId: fx.globex.id });
      expect(list.status, next.name).toBe(200);
      expect((list.data as { users: { id: string }[] }).users.map((u) => u.id)).toContain(fx.id(MEMBER, "globex"));
    }
    // and nothing of acme's is readable or removable with it
    const cross = await surface.bulkDelete({
      authorization: fx.bearer(MEMBER, "globex"),
      orgId: fx.acme.id,
      body: { membershipIds: [fx.id("user001@acme.test")] },
    });
    expect(cross.status).toBe(403);
    expect(cross.error).toBe("ForbiddenError");
  });
});

describe.each(SURFACES)("listing memberships over $name", (surface) => {
  beforeEach(async () => {
    fx = await seeded.get();
  });

  it("answers { users } with the 14 keys and the user (null for invites)", async () => {
    const db = await testDb();
    const out = await surface.listMemberships({ authorization: fx.bearer(ADMIN), orgId: fx.acme.id });
    expect(out.status).toBe(200);
    expect(Object.keys(out.data as object)).toEqual(["users"]);
    const listed = (out.data as { users: Record<string, unknown>[] }).users;
    expect(listed).toHaveLength(220);
    for (const m of listed) expect(Object.keys(m).sort()).toEqual([...MEMBERSHIP_KEYS, "user"].sort());
    const rows = await db.orgMembership.findMany({
      where: { orgId: fx.acme.id },
      select: membershipWithUserSelect,
    });
    const byId = (a: Record<string, unknown>, b: Record<string, unknown>) => String(a.id).localeCompare(String(b.id));
    expect([...listed].sort(byId)).toEqual(rows.map(expectedMembershipWithUser).sort(byId));
    const invite = listed.find((m) => m.id === fx.id("invitee01@acme.test"));
    expect(invite).toMatchObject({ userId: null, user: null, status: "invited", inviteEmail: "invitee01@acme.test" });
    if (surface.name === "rest") {
      expect(out.http?.headers.get("content-type")).toBe(JSON_CONTENT_TYPE);
      expect(out.reqId).toMatch(REQ_ID);
    }
  });

  it("is open to member@acme.test (read on member)", async () => {
    const out = await surface.listMemberships({ authorization: fx.bearer(MEMBER), orgId: fx.acme.id });
    expect(out.status).toBe(200);
    expect((out.data as { users: unknown[] }).users).toHaveLength(220);
  });

  it.each([
    [
      "noaccess@acme.test: PermissionDenied",
      (f: Fx) => f.bearer(NOACCESS),
      (f: Fx) => f.acme.id,
      {
        status: 403,
        error: "PermissionDenied",
        message: "You are not allowed to read on member",
        details: [],
      },
    ],
    [
      "no token",
      () => null,
      (f: Fx) => f.acme.id,
      { status: 401, error: "UnauthorizedError", message: "Token missing" },
    ],
    [
      "an inactive member",
      (f: Fx) => f.bearer("inactive02@acme.test"),
      (f: Fx) => f.acme.id,
      {
        status: 403,
        error: "ForbiddenError",
        message: "User organization membership is inactive",
      },
    ],
    [
      "an acme token on globex's path",
      (f: Fx) => f.bearer(ADMIN),
      (f: Fx) => f.globex.id,
      {
        status: 403,
        error: "ForbiddenError",
        message: "",
      },
    ],
  ] as const)("refuses %s", async (_name, auth, org, expected) => {
    const out = await surface.listMemberships({ authorization: auth(fx), orgId: org(fx) });
    const message =
      expected.message ||
      `Your token is scoped to organization with ID ${fx.acme.id}, but this resource belongs to a different organization.`;
    expect({ status: out.status, error: out.error, message: out.message }).toEqual({
      status: expected.status,
      error: expected.error,
      message,
    });
    if ("details" in expected) expect(out.details).toEqual(expected.details);
    else expect(out.details).toBeUndefined();
    if (surface.name === "rest") {
      const env = out.http?.body as Record<string, unknown>;
      expect(Object.keys(env).sort()).toEqual(
        ["error", "message", "reqId", "statusCode", ...("details" in expected ? ["details"] : [])].sort(),
      );
      expect(env.reqId).toBe(out.reqId);
    }
  });
});

describe("the REST route", () => {
  beforeEach(async () => {
    fx = await seeded.get();
  });

  it("answers GET on the path with a trailing slash too", async () => {
    const res = await sendRaw({
      method: "GET",
      path: `${membershipsPath(fx.acme.id)}/`,
      headers: restHeaders(fx.bearer(ADMIN)),
    });
    expect(res.status).toBe(200);
    expect((res.body as { users: unknown[] }).users).toHaveLength(220);
  });

  it("answers HEAD with 405 and Allow", async () => {
    const res = await sendRaw({
      method: "HEAD",
      path: membershipsPath(fx.acme.id),
      headers: restHeaders(fx.bearer(ADMIN)),
    });
    expect(res.status).toBe(405);
    expect(
      (res.headers.get("allow") ?? "")
        .split(",")
        .map((m) => m.trim())
        .sort(),
    ).toEqual(["DELETE", "GET"]);
    expect(res.headers.get("x-request-id")).toMatch(REQ_ID);
  });

  it("records the peer address and the user agent", async () => {
    const db = await testDb();
    seeded.dirty();
    const res = await sendRaw({
      method: "DELETE",
      path: membershipsPath(fx.acme.id),
      headers: { authorization: fx.bearer(ADMIN), "content-type": "application/json", "user-agent": "curl/8.5.0" },
      body: JSON.stringify({ membershipIds: [fx.id("user040@acme.test")] }),
    });
    expect(res.status).toBe(200);
    const [event] = await db.auditEvent.findMany({ where: { batchId: res.headers.get("x-request-id") as string } });
    expect(event).toMatchObject({ targetId: fx.id("user040@acme.test"), userAgent: "curl/8.5.0" });
    expect(event?.ip).toMatch(LOOPBACK);
  });
});

// ---------------------------------------------------------------------------------------------

interface TrpcWire {
  status: number;
  headers: Headers;
  body: {
    result?: { data: { memberships: Record<string, unknown>[] } };
    error?: { message: string; code: number; data: Record<string, unknown> };
  };
}

async function trpcOverHttp(path: string, input: unknown, authorization: string | null): Promise<TrpcWire> {
  const res = await fetch(`${baseUrl()}/api/trpc/${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(authorization ? { authorization } : {}) },
    body: JSON.stringify(input),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as TrpcWire["body"] };
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
    const res = await trpcOverHttp(
      "organizations.bulkDeleteMemberships",
      { organizationId: fx.acme.id, membershipIds: ids },
      fx.bearer(ADMIN),
    );
    expect(res.status).toBe(200);
    const expected = ids.map((id) =>
      expectedMembership(rows.find((r) => r.id === id) as Parameters<typeof expectedMembership>[0]),
    );
    expect(res.body.result?.data).toEqual({ memberships: expected });
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
    const res = await trpcOverHttp("organizations.bulkDeleteMemberships", input(fx), auth(fx));
    const want = expected(fx) as {
      status: number;
      error: string;
      message?: string;
      details?: unknown;
      issues?: unknown;
      www?: string;
    };
    expect(res.status).toBe(want.status);
    expect(res.body.result).toBeUndefined();
    const err = res.body.error;
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

// ---------------------------------------------------------------------------------------------

describe("previewBulkDeleteMemberships (tRPC)", () => {
  beforeEach(async () => {
    fx = await seeded.get();
  });

  it("lists what would go, with users and the project membership count, and writes nothing", async () => {
    const db = await testDb();
    const before = await unchangedProbe(db);
    const ids = ["user001@acme.test", "user002@acme.test", "user003@acme.test"].map((e) => fx.id(e));
    const caller = await trpcCallerFor(fx.bearer(ADMIN));
    const preview = await caller.organizations.previewBulkDeleteMemberships({
      organizationId: fx.acme.id,
      membershipIds: [` ${ids[0]} `, ...ids, ids[1] as string],
    });
    expect(preview.blocker).toBeNull();
    expect(preview.projectMembershipCount).toBe(6);
    expect(preview.memberships.map((m) => m.id)).toEqual(ids);
    for (const m of preview.memberships) {
      expect(Object.keys(m).sort()).toEqual([...MEMBERSHIP_KEYS, "user"].sort());
      expect(m.user?.id).toBe(m.userId);
    }
    expect(preview.memberships[0]?.user?.email).toBe("user001@acme.test");
    expect(await unchangedProbe(db)).toEqual(before);
  });

  it("counts no project memberships for invitations", async () => {
    const caller = await trpcCallerFor(fx.bearer(ADMIN));
    const preview = await caller.organizations.previewBulkDeleteMemberships({
      organizationId: fx.acme.id,
      membershipIds: [fx.id("invitee01@acme.test")],
    });
    expect(preview).toMatchObject({
      blocker: null,
      projectMembershipCount: 0,
      memberships: [{ userId: null, user: null }],
    });
  });

  it.each([
    {
      name: "not found (the found ones still listed)",
      caller: REMOVER,
      ids: (f: Fx) => [f.id("user001@acme.test"), UNKNOWN],
      listed: 1,
    },
    {
      name: "the permission boundary",
      caller: REMOVER,
      ids: (f: Fx) => [f.id("user001@acme.test"), f.id(ADMIN)],
      listed: 2,
    },
    { name: "the caller's own membership", caller: ADMIN, ids: (f: Fx) => [f.id(ADMIN)], listed: 0 },
    { name: "no delete on member", caller: MEMBER, ids: (f: Fx) => [f.id("user001@acme.test")], listed: 0 },
    { name: "the last admin", caller: NOACCESS, setup: true, ids: (f: Fx) => [f.id(ADMIN), f.id(ADMIN2)], listed: 2 },
  ])("reports the blocker a real request would answer with: $name", async ({ caller, ids, setup, listed }) => {
    const db = await testDb();
    if (setup) {
      seeded.dirty();
      await grantEverything(fx, db, NOACCESS);
    }
    const before = await unchangedProbe(db);
    const preview = await (await trpcCallerFor(fx.bearer(caller))).organizations.previewBulkDeleteMemberships({
      organizationId: fx.acme.id,
      membershipIds: ids(fx),
    });
    expect(await unchangedProbe(db)).toEqual(before);
    const real = await trpc.bulkDelete({
      authorization: fx.bearer(caller),
      orgId: fx.acme.id,
      body: { membershipIds: ids(fx) },
    });
    expect(real.status).not.toBe(200);
    expect(preview.blocker).toEqual({
      statusCode: real.status,
      error: real.error,
      message: real.message,
      ...(real.details !== undefined ? { details: real.details } : {}),
    });
    expect(preview.memberships).toHaveLength(listed);
    if (caller === NOACCESS) expect(preview.blocker?.message).toBe(LAST_ADMIN);
    expect(await unchangedProbe(db)).toEqual(before);
  });

  it("needs read on member", async () => {
    const out = await (async () => {
      try {
        await (await trpcCallerFor(fx.bearer(NOACCESS))).organizations.previewBulkDeleteMemberships({
          organizationId: fx.acme.id,
          membershipIds: [fx.id("user001@acme.test")],
        });
        return null;
      } catch (err) {
        return err as Error & { cause?: { status?: number; errorName?: string } };
      }
    })();
    expect(out?.message).toBe("You are not allowed to read on member");
    expect(out?.cause).toMatchObject({ status: 403, errorName: "PermissionDenied" });
  });
});
