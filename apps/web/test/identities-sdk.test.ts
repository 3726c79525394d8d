// Wire compatibility with the upstream service's own client: @infisical/sdk logs in to Roster with
// Universal Auth, renews its token, and the token it holds then removes members over REST.
import { InfisicalSDK } from "@infisical/sdk";
import { baseUrl, claimsOf, identityOf, memberOf, orgOf, reseed, testDb } from "@roster/api/testing";
import type { DemoManifest, ManifestIdentity, ManifestOrganization } from "@roster/contract";
import { beforeEach, describe, expect, it } from "vitest";

let manifest: DemoManifest;
let acme: ManifestOrganization;
let deprovisioner: ManifestIdentity;

beforeEach(async () => {
  manifest = await reseed();
  acme = orgOf(manifest, "acme");
  deprovisioner = identityOf(manifest, "acme", "deprovisioner");
});

/** The SDK's current token. `sdk.auth()` is asked afresh: a client obtained before a login is stale. */
function tokenOf(sdk: InfisicalSDK): string {
  const token = sdk.auth().getAccessToken();
  if (!token) throw new Error("the SDK holds no access token");
  return token;
}

describe("@infisical/sdk against Roster", () => {
  it("logs in with Universal Auth, renews, and its token bulk deletes two members over REST", async () => {
    const db = await testDb();
    // The deprovisioner has the default settings (1 h within a 24 h max TTL), so a renew fits.
    const sdk = new InfisicalSDK({ siteUrl: baseUrl() });
    const loggedIn = await sdk.auth().universalAuth.login({
      clientId: deprovisioner.clientId,
      clientSecret: deprovisioner.clientSecret,
    });
    expect(loggedIn).toBe(sdk);
    const first = tokenOf(sdk);
    const firstClaims = claimsOf(first);
    expect(firstClaims).toMatchObject({ authTokenType: "identityAccessToken", identityId: deprovisioner.identityId });
    const tokenId = firstClaims.identityAccessTokenId as string;
    const before = await db.identityAccessToken.findUniqueOrThrow({ where: { id: tokenId } });
    expect(before.lastRenewedAt).toBeNull();

    expect(await sdk.auth().universalAuth.renew()).toBe(sdk);
    const token = tokenOf(sdk);
    // The same server-side token, renewed.
    expect(claimsOf(token)).toMatchObject({ identityId: deprovisioner.identityId, identityAccessTokenId: tokenId });
    const after = await db.identityAccessToken.findUniqueOrThrow({ where: { id: tokenId } });
    expect(after.lastRenewedAt).not.toBeNull();

    const ids = [
      memberOf(manifest, "acme", "user010@acme.test").membershipId,
      memberOf(manifest, "acme", "user011@acme.test").membershipId,
    ];
    const res = await fetch(`${baseUrl()}/api/v2/organizations/${acme.id}/memberships`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ membershipIds: ids }),
    });
    const body = (await res.json()) as { memberships: { id: string }[] };
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(body.memberships.map((m) => m.id)).toEqual(ids);
    expect(await db.orgMembership.count({ where: { id: { in: ids } } })).toBe(0);
    const events = await db.auditEvent.findMany({ where: { targetId: { in: ids } } });
    expect(events.map((e) => [e.actorType, e.actorIdentityId])).toEqual([
      ["identity", deprovisioner.identityId],
      ["identity", deprovisioner.identityId],
    ]);
  });

  it("rejects a login with a wrong secret, or an unknown client id, with Roster's message", async () => {
    const sdk = new InfisicalSDK({ siteUrl: baseUrl() });
    await expect(
      sdk.auth().universalAuth.login({ clientId: deprovisioner.clientId, clientSecret: "0".repeat(64) }),
    ).rejects.toThrow(/\[StatusCode=401\] Invalid credentials/);
    await expect(
      sdk.auth().universalAuth.login({
        clientId: "6f1c2d3e-4a5b-4c6d-8e7f-9a0b1c2d3e4f",
        clientSecret: deprovisioner.clientSecret,
      }),
    ).rejects.toThrow(/Invalid credentials/);
    expect(sdk.auth().getAccessToken()).toBeNull();
  });

  it("logs in again while it still sends its old, revoked token along", async () => {
    const sdk = new InfisicalSDK({ siteUrl: baseUrl() });
    const creds = { clientId: deprovisioner.clientId, clientSecret: deprovisioner.clientSecret };
    await sdk.auth().universalAuth.login(creds);
    const old = tokenOf(sdk);
    const revoked = await fetch(`${baseUrl()}/api/v1/auth/token/revoke`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ accessToken: old }),
    });
    expect(revoked.status).toBe(200);

    // The SDK's Authorization header is sticky: this login carries the revoked token.
    await sdk.auth().universalAuth.login(creds);
    const fresh = tokenOf(sdk);
    expect(claimsOf(fresh).identityAccessTokenId).not.toBe(claimsOf(old).identityAccessTokenId);
    const res = await fetch(`${baseUrl()}/api/v2/organizations/${acme.id}/memberships`, {
      headers: { authorization: `Bearer ${fresh}` },
    });
    expect(res.status).toBe(200);
  });

  it("cannot renew past the max TTL: the SDK rejects with Roster's 401", async () => {
    const db = await testDb();
    const sdk = new InfisicalSDK({ siteUrl: baseUrl() });
    await sdk
      .auth()
      .universalAuth.login({ clientId: deprovisioner.clientId, clientSecret: deprovisioner.clientSecret });
    const id = claimsOf(tokenOf(sdk)).identityAccessTokenId as string;
    // 23.5 hours after login: another hour would pass the 24 h max TTL.
    await db.identityAccessToken.update({ where: { id }, data: { createdAt: new Date(Date.now() - 84_600_000) } });
    await expect(sdk.auth().universalAuth.renew()).rejects.toThrow(
      /\[StatusCode=401\] Failed to renew MI access token past its Max TTL expiration/,
    );
  });
});
