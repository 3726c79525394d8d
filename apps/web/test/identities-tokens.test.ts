// Identity access tokens against the running app: revoked over HTTP, counted against their uses
// limit on both surfaces, refused outside their trusted IP ranges, and expired by their TTL on the
// server or by their JWT's exp. (Renewing them: identities-renew.test.ts.)
import { claimsOf, MSG, reseed, testDb } from "@roster/api/testing";
import { beforeAll, describe, expect, it } from "vitest";
import { ADMIN, type Fx, fixtures } from "./support/fixtures";
import {
  deprovisioner,
  expectEnvelope,
  listOverRest,
  makeIdentity,
  RENEW,
  REVOKE,
  SPOOFING_HEADERS,
  send,
  tokenFor,
  trpcAs,
} from "./support/identities";
import { procedureOutcome } from "./support/surfaces";
import { forgeToken } from "./support/tokens";

let fx: Fx;

describe("identity access tokens", () => {
  // These tests only add identities, secrets and tokens of their own (and revoke or age only
  // their own tokens), so they share one seed.
  beforeAll(async () => {
    fx = fixtures(await reseed());
  });

  it("stop working once revoked: 401 StaleSession on REST and tRPC; a second revoke or a renew finds no token", async () => {
    const token = await tokenFor(deprovisioner(fx));
    const res = await send("POST", REVOKE, { json: { accessToken: token } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toEqual({ message: MSG.revoked });

    const after = await listOverRest(fx.acme.id, token);
    expectEnvelope(after, 401, "StaleSession", MSG.stale);
    expect(after.headers.get("www-authenticate")).toBe('Bearer error="invalid_token"');
    const viaTrpc = await procedureOutcome(async () =>
      (await trpcAs(token)).organizations.listMemberships({ organizationId: fx.acme.id }),
    );
    expect(viaTrpc).toMatchObject({ status: 401, error: "StaleSession", message: MSG.stale });

    expectEnvelope(await send("POST", REVOKE, { json: { accessToken: token } }), 401, "UnauthorizedError", MSG.noToken);
    expectEnvelope(await send("POST", RENEW, { json: { accessToken: token } }), 401, "UnauthorizedError", MSG.noToken);
  });

  it("revoke takes a form-encoded body too, and refuses a user token with 400", async () => {
    const token = await tokenFor(deprovisioner(fx));
    expect((await send("POST", REVOKE, { form: { accessToken: token } })).status).toBe(200);
    expectEnvelope(
      await send("POST", REVOKE, { json: { accessToken: fx.token(ADMIN) } }),
      400,
      "BadRequest",
      MSG.revokeUserToken,
    );
    // The user's token is untouched.
    expect((await listOverRest(fx.acme.id, fx.token(ADMIN))).status).toBe(200);
  });

  it("count every accepted request, on either surface, against accessTokenNumUsesLimit", async () => {
    const db = await testDb();
    const made = await makeIdentity(fx, { role: "member", universalAuth: { accessTokenNumUsesLimit: 3 } });
    const token = await tokenFor(made);
    expect((await listOverRest(fx.acme.id, token)).status).toBe(200);
    const trpc = await trpcAs(token);
    expect(
      await procedureOutcome(() => trpc.organizations.listMemberships({ organizationId: fx.acme.id })),
    ).toMatchObject({
      status: 200,
    });
    expect((await listOverRest(fx.acme.id, token)).status).toBe(200);
    expectEnvelope(await listOverRest(fx.acme.id, token), 401, "StaleSession", MSG.stale);
    expect(
      await procedureOutcome(() => trpc.organizations.listMemberships({ organizationId: fx.acme.id })),
    ).toMatchObject({
      status: 401,
      error: "StaleSession",
    });
    const row = await db.identityAccessToken.findUniqueOrThrow({
      where: { id: claimsOf(token).identityAccessTokenId as string },
    });
    expect(row).toMatchObject({ numUses: 3, numUsesLimit: 3 });
    // A new login gets a new allowance.
    expect((await listOverRest(fx.acme.id, await tokenFor(made))).status).toBe(200);
  });

  it("never let parallel requests overspend the uses limit", async () => {
    const made = await makeIdentity(fx, { role: "member", universalAuth: { accessTokenNumUsesLimit: 4 } });
    const token = await tokenFor(made);
    const answers = await Promise.all(Array.from({ length: 12 }, () => listOverRest(fx.acme.id, token)));
    expect(answers.filter((r) => r.status === 200)).toHaveLength(4);
    expect(answers.filter((r) => r.status === 401 && r.body.error === "StaleSession")).toHaveLength(8);
  });

  it("are refused from outside the access token's trusted ranges with 403, whatever X-Forwarded-For says", async () => {
    const db = await testDb();
    const made = await makeIdentity(fx, { role: "member", universalAuth: { accessTokenTrustedIps: ["10.0.0.0/8"] } });
    // The client secret has no ranges: the login works from anywhere.
    const token = await tokenFor(made);
    for (const headers of SPOOFING_HEADERS) {
      expectEnvelope(await listOverRest(fx.acme.id, token, headers), 403, "ForbiddenError", MSG.ipNotAllowed);
    }
    // tRPC: the context's address decides; an unknown one is not trusted.
    const list = (ip: string | null) =>
      procedureOutcome(async () =>
        (await trpcAs(token, { ip })).organizations.listMemberships({ organizationId: fx.acme.id }),
      );
    expect(await list(null)).toMatchObject({ status: 403, error: "ForbiddenError", message: MSG.ipNotAllowed });
    expect(await list("192.0.2.1")).toMatchObject({ status: 403, error: "ForbiddenError" });
    expect(await list("10.9.8.7")).toMatchObject({ status: 200 });
    // A refused request uses nothing.
    const row = await db.identityAccessToken.findUniqueOrThrow({
      where: { id: claimsOf(token).identityAccessTokenId as string },
    });
    expect(row.numUses).toBe(1);
  });

  it("work from a trusted range (127.0.0.0/8)", async () => {
    const made = await makeIdentity(fx, { role: "member", universalAuth: { accessTokenTrustedIps: ["127.0.0.0/8"] } });
    expect((await listOverRest(fx.acme.id, await tokenFor(made))).status).toBe(200);
  });

  it("expire a TTL after login: 401 StaleSession once the server-side token is older than its TTL", async () => {
    const db = await testDb();
    const token = await tokenFor(deprovisioner(fx));
    const id = claimsOf(token).identityAccessTokenId as string;
    await db.identityAccessToken.update({ where: { id }, data: { createdAt: new Date(Date.now() - 3_590_000) } });
    expect((await listOverRest(fx.acme.id, token)).status).toBe(200);
    await db.identityAccessToken.update({ where: { id }, data: { createdAt: new Date(Date.now() - 3_601_000) } });
    expectEnvelope(await listOverRest(fx.acme.id, token), 401, "StaleSession", MSG.stale);
    expect(
      await procedureOutcome(async () =>
        (await trpcAs(token)).organizations.listMemberships({ organizationId: fx.acme.id }),
      ),
    ).toMatchObject({ status: 401, error: "StaleSession" });
  });

  it("expire with their JWT: a token past its exp is 401 TokenError, on REST and tRPC", async () => {
    const token = await tokenFor(deprovisioner(fx));
    const now = Math.floor(Date.now() / 1000);
    const stale = forgeToken(token, { iat: now - 3700, exp: now - 100 });
    const res = await listOverRest(fx.acme.id, stale);
    expectEnvelope(res, 401, "TokenError", MSG.expired);
    expect(res.headers.get("www-authenticate")).toBe('Bearer error="invalid_token"');
    expect(
      await procedureOutcome(async () =>
        (await trpcAs(stale)).organizations.listMemberships({ organizationId: fx.acme.id }),
      ),
    ).toMatchObject({ status: 401, error: "TokenError", message: MSG.expired });
    // Renewing it is refused alike.
    expectEnvelope(await send("POST", RENEW, { json: { accessToken: stale } }), 401, "TokenError", MSG.expired);
  });
});
