// The bulk delete's companion read on both surfaces (GET .../memberships and listMemberships):
// the contract's keys with the user, who may read it, and the REST route's other methods.
import { REQ_ID, testDb } from "@roster/api/testing";
import { beforeEach, describe, expect, it } from "vitest";
import { ADMIN, type Fx, MEMBER, NOACCESS, Seeded } from "./support/fixtures";
import { allowedMethods, JSON_CONTENT_TYPE, LOOPBACK, membershipsPath, sendRaw } from "./support/http";
import { expectedMembershipWithUser, MEMBERSHIP_KEYS, membershipWithUserSelect } from "./support/snapshots";
import { restHeaders, SURFACES } from "./support/surfaces";

const seeded = new Seeded();
let fx: Fx;

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
    expect(allowedMethods(res.headers)).toEqual(["DELETE", "GET"]);
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
