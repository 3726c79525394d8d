// The REST client (openapi-fetch over the generated types) and the Universal Auth helpers,
// against the running app, as the demo's `deprovisioner` machine identity.
import { randomUUID } from "node:crypto";
import { baseUrl, identityOf, memberOf, orgOf, REQ_ID, reseed, testDb, tokenOf } from "@roster/api/testing";
import type { DemoManifest, ManifestIdentity } from "@roster/contract";
import { beforeEach, describe, expect, it } from "vitest";
import {
  bulkDeleteOrgMemberships,
  createRosterRestClient,
  identityTokenSource,
  listOrgMemberships,
  loginWithUniversalAuth,
  RosterApiError,
  renewAccessToken,
  revokeAccessToken,
  unwrap,
} from "../src/rest";

let manifest: DemoManifest;
let identity: ManifestIdentity;
beforeEach(async () => {
  manifest = await reseed();
  identity = identityOf(manifest, "acme", "deprovisioner");
});

async function refusal(promise: Promise<unknown>): Promise<RosterApiError> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(RosterApiError);
  return err as RosterApiError;
}

describe("the REST client", () => {
  it("logs in with the identity's credentials, lists and deletes memberships", async () => {
    const acme = orgOf(manifest, "acme");
    const login = await loginWithUniversalAuth(baseUrl(), identity);
    expect(login).toMatchObject({ tokenType: "Bearer" });
    expect(login.expiresIn).toBeGreaterThan(0);

    const client = createRosterRestClient({ baseUrl: baseUrl(), token: login.accessToken });
    const users = await listOrgMemberships(client, acme.id);
    expect(users.map((u) => u.id).sort()).toEqual(acme.members.map((m) => m.membershipId).sort());
    expect(users.find((u) => u.user?.email === "admin@acme.test")?.role).toBe("admin");

    const targets = ["user010@acme.test", "invitee01@acme.test"].map((e) => memberOf(manifest, "acme", e));
    const ids = targets.map((t) => t.membershipId);
    const answer = await bulkDeleteOrgMemberships(client, acme.id, ids);
    expect(answer.memberships.map((m) => m.id)).toEqual(ids);
    expect(answer.memberships[1]).toMatchObject({
      status: "invited",
      userId: null,
      inviteEmail: "invitee01@acme.test",
    });
    expect(answer.reqId).toMatch(REQ_ID);

    const db = await testDb();
    expect(await db.orgMembership.count({ where: { id: { in: ids } } })).toBe(0);
    expect(await db.orgMembership.count({ where: { orgId: acme.id } })).toBe(acme.members.length - 2);
  });

  it("is typed by the generated document: plain calls answer { data } or { error }", async () => {
    const acme = orgOf(manifest, "acme");
    const client = createRosterRestClient({ baseUrl: baseUrl(), token: tokenOf(manifest, "acme", "member@acme.test") });
    const ok = await client.GET("/api/v2/organizations/{organizationId}/memberships", {
      params: { path: { organizationId: acme.id } },
    });
    expect(ok.response.status).toBe(200);
    expect(ok.data?.users.length).toBe(acme.members.length);

    const refused = await client.DELETE("/api/v2/organizations/{organizationId}/memberships", {
      params: { path: { organizationId: acme.id } },
      body: { membershipIds: [memberOf(manifest, "acme", "user001@acme.test").membershipId] },
    });
    expect(refused.data).toBeUndefined();
    expect(refused.error).toMatchObject({ statusCode: 403, error: "PermissionDenied" });
    expect(() => unwrap(refused)).toThrow(RosterApiError);
  });

  it("throws RosterApiError carrying status, error name, message and reqId", async () => {
    const acme = orgOf(manifest, "acme");
    const { accessToken } = await loginWithUniversalAuth(baseUrl(), identity);
    const client = createRosterRestClient({ baseUrl: baseUrl(), token: accessToken });

    const unknown = randomUUID();
    const notFound = await refusal(bulkDeleteOrgMemberships(client, acme.id, [unknown]));
    expect(notFound).toMatchObject({
      status: 404,
      error: "NotFound",
      message: `Memberships not found in organization ${acme.id}: ${unknown}`,
    });
    expect(notFound.reqId).toMatch(REQ_ID);
    expect(notFound.describe()).toBe(`404 NotFound: ${notFound.message} (${notFound.reqId})`);

    const invalid = await refusal(bulkDeleteOrgMemberships(client, acme.id, ["nope"]));
    expect(invalid).toMatchObject({
      status: 422,
      error: "ValidationFailure",
      message: "membershipIds.0: Invalid UUID",
    });
    expect(invalid.issues).toEqual([expect.objectContaining({ path: ["membershipIds", 0], message: "Invalid UUID" })]);

    const lastAdmins = ["admin@acme.test", "admin2@acme.test"].map((e) => memberOf(manifest, "acme", e).membershipId);
    const lastAdmin = await refusal(bulkDeleteOrgMemberships(client, acme.id, lastAdmins));
    expect(lastAdmin).toMatchObject({
      status: 400,
      error: "BadRequest",
      message: "This action would leave the organization with no admin. Promote another user to admin first.",
    });

    const anonymous = createRosterRestClient({ baseUrl: baseUrl() });
    const missing = await refusal(listOrgMemberships(anonymous, acme.id));
    expect(missing).toMatchObject({ status: 401, error: "UnauthorizedError", message: "Token missing" });
    expect(missing.reqId).toMatch(REQ_ID);

    const badLogin = await refusal(
      loginWithUniversalAuth(baseUrl(), { clientId: `unknown-${randomUUID()}`, clientSecret: "wrong" }),
    );
    expect(badLogin).toMatchObject({ status: 401, error: "UnauthorizedError", message: "Invalid credentials" });
    expect(badLogin.reqId).toMatch(REQ_ID);

    const db = await testDb();
    expect(await db.orgMembership.count({ where: { orgId: acme.id } })).toBe(acme.members.length);
  });

  it("renews and revokes identity tokens, and keeps a token source fresh", async () => {
    const acme = orgOf(manifest, "acme");
    const first = await loginWithUniversalAuth(baseUrl(), identity);
    const renewed = await renewAccessToken(baseUrl(), first.accessToken);
    expect(renewed.tokenType).toBe("Bearer");
    const list = (token: string) => listOrgMemberships(createRosterRestClient({ baseUrl: baseUrl(), token }), acme.id);
    expect((await list(renewed.accessToken)).length).toBe(acme.members.length);

    await revokeAccessToken(baseUrl(), renewed.accessToken);
    const stale = await refusal(list(renewed.accessToken));
    expect(stale.status).toBe(401);
    expect(stale.reqId).toMatch(REQ_ID);

    let logins = 0;
    const source = identityTokenSource({
      baseUrl: baseUrl(),
      ...identity,
      fetch: (request) => {
        if (request.url.endsWith("/universal-auth/login")) logins++;
        return fetch(request);
      },
    });
    const client = createRosterRestClient({ baseUrl: baseUrl(), token: source });
    const [a, b] = await Promise.all([listOrgMemberships(client, acme.id), listOrgMemberships(client, acme.id)]);
    expect(a.length).toBe(b.length);
    expect(logins).toBe(1);
    const token = await source();
    await source.revoke();
    expect((await refusal(list(token))).status).toBe(401);
    // The next use logs in afresh.
    expect((await listOrgMemberships(client, acme.id)).length).toBe(acme.members.length);
    expect(logins).toBe(2);
  });

  it("renews a token source's token before it expires, and logs in again past the max TTL", async () => {
    const acme = orgOf(manifest, "acme");
    const calls: string[] = [];
    let clock = Date.now();
    const source = identityTokenSource({
      baseUrl: baseUrl(),
      clientId: identity.clientId,
      clientSecret: identity.clientSecret,
      now: () => clock,
      fetch: (request) => {
        calls.push(new URL(request.url).pathname);
        return fetch(request);
      },
    });
    const client = createRosterRestClient({ baseUrl: baseUrl(), token: source });
    const first = await loginWithUniversalAuth(baseUrl(), identity); // the seeded TTLs
    expect(first.expiresIn).toBeGreaterThan(60);
    expect(first.accessTokenMaxTTL).toBeGreaterThan(first.expiresIn);

    await listOrgMemberships(client, acme.id);
    clock += (first.expiresIn - 30) * 1000; // within the last minute of the token
    await listOrgMemberships(client, acme.id);
    clock += first.accessTokenMaxTTL * 1000; // past the max TTL: renewing cannot help
    await listOrgMemberships(client, acme.id);
    expect(calls).toEqual([
      "/api/v1/auth/universal-auth/login",
      "/api/v1/auth/token/renew",
      "/api/v1/auth/universal-auth/login",
    ]);
  });
});
