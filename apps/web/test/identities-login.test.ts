// Universal Auth login over HTTP against the running app, wire-compatible with the upstream
// service: the token response, form and JSON bodies, refusals that tell nothing, and every limit a
// client secret sets (TTL, number of uses, trusted IP ranges).
import { randomUUID } from "node:crypto";
import { claimsOf, MSG, reseed, testDb } from "@roster/api/testing";
import { beforeAll, describe, expect, it } from "vitest";
import { ADMIN, type Fx, fixtures } from "./support/fixtures";
import { JSON_CONTENT_TYPE, LOOPBACK } from "./support/http";
import {
  deprovisioner,
  expectEnvelope,
  LOGIN,
  listOverRest,
  login,
  makeIdentity,
  type Res,
  SPOOFING_HEADERS,
  send,
  TOKEN_RESPONSE_KEYS,
  trpcAs,
} from "./support/identities";

let fx: Fx;

describe("Universal Auth login", () => {
  // These tests only add identities, secrets and tokens of their own (and revoke or age only
  // their own tokens), so they share one seed.
  beforeAll(async () => {
    fx = fixtures(await reseed());
  });

  async function expectGoodLogin(request: () => Promise<Res>) {
    const db = await testDb();
    const ident = deprovisioner(fx);
    const demoSecret = () => db.identityClientSecret.findFirstOrThrow({ where: { identityId: ident.identityId } });
    const usesBefore = (await demoSecret()).numUses;
    const res = await request();
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.headers.get("content-type")).toBe(JSON_CONTENT_TYPE);
    expect(Object.keys(res.body).sort()).toEqual(TOKEN_RESPONSE_KEYS);
    expect(res.body).toMatchObject({ expiresIn: 3600, accessTokenMaxTTL: 86400, tokenType: "Bearer" });

    const token = res.body.accessToken as string;
    const claims = claimsOf(token);
    expect(claims).toMatchObject({ authTokenType: "identityAccessToken", identityId: ident.identityId });
    expect((claims.exp as number) - (claims.iat as number)).toBe(3600);
    const row = await db.identityAccessToken.findUniqueOrThrow({
      where: { id: claims.identityAccessTokenId as string },
    });
    expect(row).toMatchObject({
      identityId: ident.identityId,
      clientSecretId: claims.clientSecretId,
      ttl: 3600,
      maxTTL: 86400,
      numUses: 0,
      numUsesLimit: 0,
      isRevoked: false,
      userAgent: "roster-identities-test",
    });
    expect(row.ip).toMatch(LOOPBACK);
    const secret = await demoSecret();
    expect(secret.id).toBe(claims.clientSecretId);
    expect(secret.numUses).toBe(usesBefore + 1);
    expect(Date.now() - (secret.lastUsedAt?.getTime() ?? 0)).toBeLessThan(60_000);

    // The token works.
    expect((await listOverRest(fx.acme.id, token)).status).toBe(200);
  }

  it("answers a JSON login with the upstream service's four keys and a working identity token", async () => {
    const { clientId, clientSecret } = deprovisioner(fx);
    await expectGoodLogin(() => login(clientId, clientSecret));
  });

  it("accepts a form-encoded login too", async () => {
    const { clientId, clientSecret } = deprovisioner(fx);
    await expectGoodLogin(() => send("POST", LOGIN, { form: { clientId, clientSecret } }));
  });

  it("ignores a stale Authorization header sent along (clients re-log in with their old bearer)", async () => {
    const { clientId, clientSecret } = deprovisioner(fx);
    const res = await login(clientId, clientSecret, { authorization: "Bearer not-a-token" });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
  });

  it("refuses a wrong secret and an unknown client id alike: 401 Invalid credentials, nothing issued", async () => {
    const db = await testDb();
    const ident = deprovisioner(fx);
    const other = await makeIdentity(fx, { role: "member" });
    const tokensBefore = await db.identityAccessToken.count();
    const attempts = [
      ["wrong secret", ident.clientId, "0".repeat(64)],
      ["unknown client id", randomUUID(), ident.clientSecret],
      ["unknown client id, unknown secret", randomUUID(), "f".repeat(64)],
      ["another identity's secret", ident.clientId, other.clientSecret],
    ] as const;
    const bodies: unknown[] = [];
    for (const [what, clientId, clientSecret] of attempts) {
      const res = await login(clientId, clientSecret);
      expect(res.status, what).toBe(401);
      expectEnvelope(res, 401, "UnauthorizedError", MSG.invalidCredentials);
      expect(res.headers.get("www-authenticate")).toBe("Bearer");
      const { reqId: _, ...rest } = res.body;
      bodies.push(rest);
    }
    // Nothing tells which half was wrong.
    expect(new Set(bodies.map((b) => JSON.stringify(b))).size).toBe(1);
    expect(await db.identityAccessToken.count()).toBe(tokensBefore);
  });

  it("refuses a body without both fields with 422 ValidationFailure", async () => {
    const res = await send("POST", LOGIN, { json: { clientId: deprovisioner(fx).clientId } });
    expect(res.status).toBe(422);
    expect(res.body.error).toBe("ValidationFailure");
    expect(res.body.message).toEqual([expect.objectContaining({ path: ["clientSecret"] })]);
  });

  it("refuses an expired client secret (and revokes it), but not one within its TTL", async () => {
    const db = await testDb();
    const made = await makeIdentity(fx, { role: "member" }, { ttl: 60 });
    expect((await login(made.clientId, made.clientSecret)).status).toBe(200);

    await db.identityClientSecret.update({
      where: { id: made.clientSecretId },
      data: { createdAt: new Date(Date.now() - 61_000) },
    });
    const res = await login(made.clientId, made.clientSecret);
    expectEnvelope(res, 401, "UnauthorizedError", MSG.expiredSecret);
    expect((await db.identityClientSecret.findUniqueOrThrow({ where: { id: made.clientSecretId } })).isRevoked).toBe(
      true,
    );
    expect(await db.identityAccessToken.count({ where: { identityId: made.identityId } })).toBe(1);
  });

  it("allows a secret exactly its numUsesLimit logins, then refuses it (and revokes it)", async () => {
    const db = await testDb();
    const made = await makeIdentity(fx, { role: "member" }, { numUsesLimit: 2 });
    expect((await login(made.clientId, made.clientSecret)).status).toBe(200);
    expect((await login(made.clientId, made.clientSecret)).status).toBe(200);
    const res = await login(made.clientId, made.clientSecret);
    expectEnvelope(res, 401, "UnauthorizedError", MSG.secretUsedUp);
    const secret = await db.identityClientSecret.findUniqueOrThrow({ where: { id: made.clientSecretId } });
    expect(secret).toMatchObject({ numUses: 2, isRevoked: true });
    // Revoked now: it answers like any wrong secret.
    expectEnvelope(await login(made.clientId, made.clientSecret), 401, "UnauthorizedError", MSG.invalidCredentials);
    expect(await db.identityAccessToken.count({ where: { identityId: made.identityId } })).toBe(2);
  });

  it("never lets parallel logins overspend a secret's uses", async () => {
    const made = await makeIdentity(fx, { role: "member" }, { numUsesLimit: 3 });
    const answers = await Promise.all(Array.from({ length: 8 }, () => login(made.clientId, made.clientSecret)));
    expect(answers.filter((r) => r.status === 200)).toHaveLength(3);
    // The rest are refused: as used up, or, once the secret got revoked for it, as unknown.
    for (const r of answers.filter((a) => a.status !== 200)) {
      expectEnvelope(r, 401, "UnauthorizedError", expect.toBeOneOf([MSG.secretUsedUp, MSG.invalidCredentials]));
    }
    const db = await testDb();
    expect(await db.identityAccessToken.count({ where: { identityId: made.identityId } })).toBe(3);
  });

  it("never locks out the holder of a used-up secret: refusing it is not a guess", async () => {
    const made = await makeIdentity(fx, { role: "member" }, { numUsesLimit: 1 });
    expect((await login(made.clientId, made.clientSecret)).status).toBe(200);
    // Well past the five free attempts: each one is the 401 of a spent (then revoked) secret, never a 429.
    for (let i = 0; i < 8; i++) {
      const r = await login(made.clientId, made.clientSecret);
      expectEnvelope(r, 401, "UnauthorizedError", expect.toBeOneOf([MSG.secretUsedUp, MSG.invalidCredentials]));
    }
  });

  it("refuses a revoked client secret with the same 401 Invalid credentials", async () => {
    const made = await makeIdentity(fx, { role: "member" });
    const admin = await trpcAs(fx.token(ADMIN));
    await admin.identities.revokeClientSecret({
      organizationId: fx.acme.id,
      identityId: made.identityId,
      clientSecretId: made.clientSecretId,
    });
    expectEnvelope(await login(made.clientId, made.clientSecret), 401, "UnauthorizedError", MSG.invalidCredentials);
  });

  it("refuses a login from outside the client secret's trusted ranges with 403, whatever X-Forwarded-For says", async () => {
    const db = await testDb();
    const made = await makeIdentity(fx, { role: "member", universalAuth: { clientSecretTrustedIps: ["10.0.0.0/8"] } });
    for (const headers of SPOOFING_HEADERS) {
      const res = await login(made.clientId, made.clientSecret, headers);
      expectEnvelope(res, 403, "ForbiddenError", MSG.ipNotAllowed);
    }
    expect(await db.identityAccessToken.count({ where: { identityId: made.identityId } })).toBe(0);
    expect((await db.identityClientSecret.findUniqueOrThrow({ where: { id: made.clientSecretId } })).numUses).toBe(0);
  });

  it("lets a login in from a trusted range (127.0.0.0/8)", async () => {
    const made = await makeIdentity(fx, {
      role: "member",
      universalAuth: { clientSecretTrustedIps: ["10.0.0.0/8", "127.0.0.0/8"] },
    });
    const res = await login(made.clientId, made.clientSecret);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
  });
});
