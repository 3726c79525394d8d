// Renewing an identity access token over HTTP (POST /api/v1/auth/token/renew, as the upstream
// service's SDK sends it): another TTL from now for the same server-side token, never past the
// max TTL, and never for a user's token.
import { claimsOf, MSG, reseed, testDb } from "@roster/api/testing";
import { beforeAll, describe, expect, it } from "vitest";
import { ADMIN, type Fx, fixtures } from "./support/fixtures";
import {
  deprovisioner,
  expectEnvelope,
  listOverRest,
  makeIdentity,
  RENEW,
  send,
  TOKEN_RESPONSE_KEYS,
  tokenFor,
} from "./support/identities";

let fx: Fx;

describe("identity access tokens", () => {
  // These tests only add identities, secrets and tokens of their own (and revoke or age only
  // their own tokens), so they share one seed.
  beforeAll(async () => {
    fx = fixtures(await reseed());
  });

  it("renew: a new token for the same server-side token, valid for another TTL from now", async () => {
    const db = await testDb();
    const ident = deprovisioner(fx);
    const token = await tokenFor(ident);
    const id = claimsOf(token).identityAccessTokenId as string;
    // 50 minutes into its hour; the renewal restarts the hour.
    await db.identityAccessToken.update({ where: { id }, data: { createdAt: new Date(Date.now() - 3_000_000) } });

    // Sent as the SDK sends it: the token in the body and as the bearer.
    const res = await send("POST", RENEW, { json: { accessToken: token }, bearer: token });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual(TOKEN_RESPONSE_KEYS);
    expect(res.body).toMatchObject({ expiresIn: 3600, accessTokenMaxTTL: 86400, tokenType: "Bearer" });
    const renewed = res.body.accessToken as string;
    const claims = claimsOf(renewed);
    expect(claims).toMatchObject({
      authTokenType: "identityAccessToken",
      identityId: ident.identityId,
      identityAccessTokenId: id,
      clientSecretId: claimsOf(token).clientSecretId,
    });
    expect((claims.exp as number) - (claims.iat as number)).toBe(3600);
    expect(claims.exp as number).toBeGreaterThanOrEqual(claimsOf(token).exp as number);
    const row = await db.identityAccessToken.findUniqueOrThrow({ where: { id } });
    expect(row.lastRenewedAt).not.toBeNull();
    expect(Math.abs((row.lastRenewedAt as Date).getTime() - Date.now())).toBeLessThan(60_000);

    // Past an hour since login, but within an hour of the renewal: the token still works.
    await db.identityAccessToken.update({ where: { id }, data: { createdAt: new Date(Date.now() - 3_700_000) } });
    expect((await listOverRest(fx.acme.id, renewed)).status).toBe(200);
    // A form-encoded renew works too.
    expect((await send("POST", RENEW, { form: { accessToken: renewed } })).status).toBe(200);
  });

  it("renew: refused with 401 when another TTL would pass the max TTL", async () => {
    const db = await testDb();
    // TTL = max TTL: no renewal can fit.
    const made = await makeIdentity(fx, {
      role: "member",
      universalAuth: { accessTokenTTL: 60, accessTokenMaxTTL: 60 },
    });
    const short = await tokenFor(made);
    expectEnvelope(
      await send("POST", RENEW, { json: { accessToken: short } }),
      401,
      "UnauthorizedError",
      MSG.pastMaxTTL,
    );

    // The defaults (1 h within 24 h), 23.5 hours after login.
    const token = await tokenFor(deprovisioner(fx));
    const id = claimsOf(token).identityAccessTokenId as string;
    await db.identityAccessToken.update({
      where: { id },
      data: { createdAt: new Date(Date.now() - 84_600_000), lastRenewedAt: new Date(Date.now() - 60_000) },
    });
    expectEnvelope(
      await send("POST", RENEW, { json: { accessToken: token } }),
      401,
      "UnauthorizedError",
      MSG.pastMaxTTL,
    );
    // The refusal leaves the current token as it was: still live until its TTL.
    expect((await listOverRest(fx.acme.id, token)).status).toBe(200);
  });

  it("renew: refused with 400 for a user's access token", async () => {
    expectEnvelope(
      await send("POST", RENEW, { json: { accessToken: fx.token(ADMIN) } }),
      400,
      "BadRequest",
      MSG.renewUserToken,
    );
  });
});
