// Identity tokens on both surfaces of the memberships operations (REST over HTTP and tRPC through
// a server-side caller): listing (users only, never an identity), removing members with the
// identity recorded as the actor, and the checks that apply to an identity as to a user.
import { DELETED_EVENT, MSG, reseed, testDb } from "@roster/api/testing";
import { beforeEach, describe, expect, it } from "vitest";
import { ADMIN, ADMIN2, type Fx, fixtures } from "./support/fixtures";
import type { Outcome } from "./support/http";
import { deprovisioner, expectEnvelope, makeIdentity, tokenFor } from "./support/identities";
import { SURFACES, type Surface } from "./support/surfaces";

let fx: Fx;

/** A surface called with an identity's bare token; every REST failure is checked for the envelope as it comes. */
function withToken(surface: Surface) {
  const checked = (out: Outcome): Outcome => {
    const res = out.http;
    if (res && out.status !== 200) {
      expectEnvelope(
        { ...res, body: res.body as Record<string, unknown> },
        out.status,
        out.error as string,
        out.message,
      );
    }
    return out;
  };
  return {
    name: surface.name,
    list: async (token: string, orgId = fx.acme.id) =>
      checked(await surface.listMemberships({ authorization: `Bearer ${token}`, orgId })),
    bulkDelete: async (token: string, ids: string[], orgId = fx.acme.id) =>
      checked(await surface.bulkDelete({ authorization: `Bearer ${token}`, orgId, body: { membershipIds: ids } })),
  };
}

describe.each(SURFACES.map(withToken))("an identity's token over $name", (surface) => {
  // These tests remove members, change roles or manage identities: fresh demo data for each.
  beforeEach(async () => {
    fx = fixtures(await reseed());
  });

  it("lists the members: users only, never an identity", async () => {
    const db = await testDb();
    const made = await makeIdentity(fx, { role: "member", name: "lister" });
    const res = await surface.list(await tokenFor(deprovisioner(fx)));
    expect(res.status, JSON.stringify(res)).toBe(200);
    const users = (res.data as { users: { id: string; user: { email: string } | null }[] }).users;
    const memberships = await db.orgMembership.findMany({ where: { orgId: fx.acme.id }, select: { id: true } });
    expect(users.map((u) => u.id).sort()).toEqual(memberships.map((m) => m.id).sort());
    const identityMemberships = await db.identityOrgMembership.findMany({ select: { id: true, identityId: true } });
    expect(identityMemberships.length).toBeGreaterThanOrEqual(2);
    const listed = JSON.stringify(users);
    for (const m of identityMemberships) {
      expect(listed).not.toContain(m.id);
      expect(listed).not.toContain(m.identityId);
    }
    expect(listed).not.toContain("deprovisioner");
    expect(listed).not.toContain(made.clientId);
  });

  it("bulk deletes members, recorded with the identity as the actor", async () => {
    const db = await testDb();
    const ident = deprovisioner(fx);
    const ids = [fx.id("user002@acme.test"), fx.id("user001@acme.test")];
    const res = await surface.bulkDelete(await tokenFor(ident), ids);
    expect(res.status, JSON.stringify(res)).toBe(200);
    expect((res.data as { memberships: { id: string }[] }).memberships.map((m) => m.id)).toEqual(ids);
    expect(await db.orgMembership.count({ where: { id: { in: ids } } })).toBe(0);

    const events = await db.auditEvent.findMany({ where: { targetId: { in: ids } } });
    expect(events).toHaveLength(2);
    for (const e of events) {
      expect(e).toMatchObject({
        orgId: fx.acme.id,
        actorType: "identity",
        actorIdentityId: ident.identityId,
        actorId: null,
        eventType: DELETED_EVENT,
        targetType: "org_membership",
        batchId: res.reqId,
      });
    }
    // The identity keeps its own membership.
    expect(await db.identityOrgMembership.count({ where: { identityId: ident.identityId } })).toBe(1);
  });

  it("answers 404 for the identity's own membership id: it is not a user membership", async () => {
    const db = await testDb();
    const ident = deprovisioner(fx);
    const own = await db.identityOrgMembership.findUniqueOrThrow({ where: { identityId: ident.identityId } });
    const member = fx.id("user003@acme.test");
    const token = await tokenFor(ident);
    for (const ids of [[own.id], [member, own.id]]) {
      const res = await surface.bulkDelete(token, ids);
      expect(res).toMatchObject({ status: 404, error: "NotFound", message: MSG.notFound(fx.acme.id, [own.id]) });
    }
    // Nor another identity's.
    const other = await makeIdentity(fx, { role: "member" });
    const res = await surface.bulkDelete(token, [other.membershipId]);
    expect(res).toMatchObject({
      status: 404,
      error: "NotFound",
      message: MSG.notFound(fx.acme.id, [other.membershipId]),
    });
    expect(await db.orgMembership.count({ where: { id: member } })).toBe(1);
    expect(await db.identityOrgMembership.count()).toBe(2);
    expect(await db.auditEvent.count()).toBe(0);
  });

  it("is refused the bulk delete with 403 PermissionDenied when the identity's role is member", async () => {
    const made = await makeIdentity(fx, { role: "member" });
    const token = await tokenFor(made);
    const res = await surface.bulkDelete(token, [fx.id("user004@acme.test")]);
    expect(res).toMatchObject({
      status: 403,
      error: "PermissionDenied",
      message: MSG.notAllowed("delete", "member"),
      details: [{ subject: "member", actions: ["read"] }],
    });
    // It may read the list.
    expect((await surface.list(token)).status).toBe(200);
  });

  it("is refused the list with 403 PermissionDenied when the identity's role is no-access", async () => {
    const made = await makeIdentity(fx, { role: "no-access" });
    const res = await surface.list(await tokenFor(made));
    expect(res).toMatchObject({
      status: 403,
      error: "PermissionDenied",
      message: MSG.notAllowed("read", "member"),
      details: [],
    });
  });

  it("is scoped to the identity's organization (check 8)", async () => {
    const globex = fx.globex;
    const res = await surface.bulkDelete(await tokenFor(deprovisioner(fx)), [], globex.id);
    expect(res).toMatchObject({ status: 403, error: "ForbiddenError", message: MSG.scope(fx.acme.id) });
  });

  it("cannot remove the last admin: an admin identity does not count as one", async () => {
    const db = await testDb();
    const token = await tokenFor(deprovisioner(fx));
    const admin = fx.id(ADMIN);
    const admin2 = fx.id(ADMIN2);
    expect(await surface.bulkDelete(token, [admin, admin2])).toMatchObject({
      status: 400,
      error: "BadRequest",
      message: MSG.lastAdmin,
    });
    expect(await db.orgMembership.count({ where: { id: { in: [admin, admin2] } } })).toBe(2);

    const first = await surface.bulkDelete(token, [admin]);
    expect(first.status, JSON.stringify(first)).toBe(200);
    expect(await surface.bulkDelete(token, [admin2])).toMatchObject({
      status: 400,
      error: "BadRequest",
      message: MSG.lastAdmin,
    });
    expect(await db.orgMembership.count({ where: { id: admin2 } })).toBe(1);
  });
});
