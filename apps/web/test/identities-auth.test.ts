// Machine identities end to end against the running app: Universal Auth login, renew and revoke
// over HTTP (wire-compatible with the upstream service), every limit an identity's settings set
// (client secret TTL and uses, access token TTL, max TTL and uses, trusted IP ranges), the login
// throttle, identity tokens on both surfaces of the memberships operations (REST over HTTP and
// tRPC through a server-side caller), and identity management over tRPC.
import { createHash, createHmac, randomUUID } from "node:crypto";
import { createCaller, createInnerContext } from "@roster/api";
import { baseUrl, memberOf, orgOf, reseed, testDb, tokenOf } from "@roster/api/testing";
import { getConfig } from "@roster/config";
import type { CreateIdentityInput, DemoManifest, ManifestIdentity, ManifestOrganization } from "@roster/contract";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";

// ---------------------------------------------------------------------------------------------
// The texts, written out here rather than imported from the implementation.

const MSG = {
  invalidCredentials: "Invalid credentials",
  ipNotAllowed: "You are not allowed to access this resource from the current IP address",
  expiredSecret: "Access denied due to expired client secret",
  secretUsedUp: "Access denied due to client secret usage limit reached",
  stale: "User session is stale, please re-authenticate",
  expired: "Your token has expired. Please re-authenticate.",
  noToken: "No identity access token found",
  pastMaxTTL: "Failed to renew MI access token past its Max TTL expiration",
  renewUserToken: "Only identity access tokens can be renewed",
  revokeUserToken: "Only identity access tokens can be revoked",
  revoked: "Successfully revoked access token",
  rateLimited: (s: number) => `Rate limit exceeded. Please try again in ${s} seconds`,
  denied: (action: string, subject: string) => `You are not allowed to ${action} on ${subject}`,
  notFound: (orgId: string, ids: string[]) => `Memberships not found in organization ${orgId}: ${ids.join(", ")}`,
  lastAdmin: "This action would leave the organization with no admin. Promote another user to admin first.",
  scope: (tokenOrgId: string) =>
    `Your token is scoped to organization with ID ${tokenOrgId}, but this resource belongs to a different organization.`,
  roleBoundary: "Failed to assign the role: your privileges do not cover it",
};

const LOGIN = "/api/v1/auth/universal-auth/login";
const RENEW = "/api/v1/auth/token/renew";
const REVOKE = "/api/v1/auth/token/revoke";
const membershipsPath = (orgId: string) => `/api/v2/organizations/${orgId}/memberships`;
const DELETED_EVENT = "organization.membership.deleted";
const JSON_TYPE = "application/json; charset=utf-8";
const REQ_ID = /^req-[A-Za-z0-9]{14}$/;
const LOOPBACK = /^(127\.0\.0\.1|::1)$/;
const TOKEN_RESPONSE_KEYS = ["accessToken", "accessTokenMaxTTL", "expiresIn", "tokenType"];
const ENVELOPE_KEYS = ["error", "message", "reqId", "statusCode"];
/** An address a client may claim in X-Forwarded-For (not believed: tests run without TRUST_PROXY). */
const SPOOFED = "10.1.2.3";
const SPOOFING_HEADERS: Record<string, string>[] = [
  {},
  { "x-forwarded-for": SPOOFED },
  { "x-forwarded-for": `${SPOOFED}, 127.0.0.1` },
  { "x-roster-peer-ip": SPOOFED },
];

// ---------------------------------------------------------------------------------------------
// HTTP

interface Res {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

/**
 * A request to the app. `ipv4` goes to 127.0.0.1 rather than localhost, so that the peer
 * address the server sees is known (a trusted range of 127.0.0.0/8 then holds).
 */
async function send(
  method: string,
  path: string,
  opts: { json?: unknown; form?: Record<string, string>; headers?: Record<string, string>; bearer?: string } = {},
): Promise<Res> {
  const headers: Record<string, string> = { "user-agent": "roster-identities-test", ...opts.headers };
  if (opts.bearer) headers.authorization = `Bearer ${opts.bearer}`;
  let body: string | undefined;
  if (opts.json !== undefined) {
    headers["content-type"] = "application/json";
    body = JSON.stringify(opts.json);
  } else if (opts.form) {
    headers["content-type"] = "application/x-www-form-urlencoded";
    body = new URLSearchParams(opts.form).toString();
  }
  const url = new URL(path, baseUrl());
  url.hostname = "127.0.0.1";
  const res = await fetch(url, { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await res.text();
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`${method} ${path} answered ${res.status} with no JSON: ${text.slice(0, 200)}`);
  }
  return { status: res.status, headers: res.headers, body: parsed };
}

const login = (clientId: string, clientSecret: string, headers: Record<string, string> = {}) =>
  send("POST", LOGIN, { json: { clientId, clientSecret }, headers });

/** Logs in and returns the access token (the login must succeed). */
async function tokenFor(creds: { clientId: string; clientSecret: string }): Promise<string> {
  const res = await login(creds.clientId, creds.clientSecret);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.accessToken as string;
}

/** The error envelope of a failure, checked for its shape; returns it for the caller's asserts. */
function expectEnvelope(res: Res, status: number, error: string, message: unknown) {
  expect({ status: res.status, error: res.body.error, message: res.body.message }).toEqual({ status, error, message });
  expect(res.body.statusCode).toBe(status);
  expect(res.body.reqId).toMatch(REQ_ID);
  expect(res.headers.get("x-request-id")).toBe(res.body.reqId);
  expect(res.headers.get("content-type")).toBe(JSON_TYPE);
  const keys = [...ENVELOPE_KEYS, ...(res.body.details !== undefined ? ["details"] : [])];
  expect(Object.keys(res.body).sort()).toEqual(keys.sort());
}

const listOverRest = (orgId: string, token: string, headers: Record<string, string> = {}) =>
  send("GET", membershipsPath(orgId), { bearer: token, headers });

function claimsOf(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString("utf8"));
}

/** A JWT with these claims, signed HS256 with the server's secret. */
function signHs256(claims: Record<string, unknown>): string {
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");
  const input = `${b64({ alg: "HS256", typ: "JWT" })}.${b64(claims)}`;
  return `${input}.${createHmac("sha256", getConfig().authSecret).update(input).digest("base64url")}`;
}

// ---------------------------------------------------------------------------------------------
// tRPC through a server-side caller

type TrpcCaller = ReturnType<typeof createCaller>;

interface Outcome {
  status: number;
  error?: string;
  message?: string;
  details?: unknown;
  data?: unknown;
}

async function trpcAs(token: string, opts: { ip?: string | null; reqId?: string } = {}): Promise<TrpcCaller> {
  return createCaller(
    createInnerContext({
      prisma: await testDb(),
      auth: { kind: "bearer", authorization: `Bearer ${token}` },
      ip: opts.ip ?? null,
      userAgent: "roster-identities-test/trpc",
      ...(opts.reqId ? { reqId: opts.reqId } : {}),
    }),
  );
}

/** A procedure's answer: its data, or the contract's status, error name and message of its failure. */
async function outcome(run: () => Promise<unknown>): Promise<Outcome> {
  try {
    return { status: 200, data: JSON.parse(JSON.stringify(await run())) };
  } catch (err) {
    const e = err as {
      name?: string;
      message: string;
      cause?: { status?: number; errorName?: string; details?: unknown };
    };
    if (e.name !== "TRPCError" || typeof e.cause?.status !== "number") throw err;
    return { status: e.cause.status, error: e.cause.errorName, message: e.message, details: e.cause.details };
  }
}

// ---------------------------------------------------------------------------------------------
// Demo data and identities made for a test

let manifest: DemoManifest;
let acme: ManifestOrganization;

const adminToken = () => tokenOf(manifest, "acme", "admin@acme.test");
const idOf = (email: string) => memberOf(manifest, "acme", email).membershipId;

function deprovisioner(): ManifestIdentity {
  const found = acme.identities.find((i) => i.name === "deprovisioner");
  if (!found) throw new Error("no deprovisioner in the manifest");
  return found;
}

interface MadeIdentity {
  identityId: string;
  membershipId: string;
  clientId: string;
  clientSecret: string;
  clientSecretId: string;
}

/** An identity in acme made by admin@acme.test over tRPC, with one client secret. */
async function makeIdentity(
  input: Omit<CreateIdentityInput, "organizationId" | "name"> & { name?: string },
  secret: { ttl?: number; numUsesLimit?: number } = {},
): Promise<MadeIdentity> {
  const admin = await trpcAs(adminToken());
  const identity = await admin.identities.create({
    organizationId: acme.id,
    name: input.name ?? `robot-${randomUUID().slice(0, 8)}`,
    ...input,
  });
  const created = await admin.identities.createClientSecret({
    organizationId: acme.id,
    identityId: identity.id,
    ...secret,
  });
  return {
    identityId: identity.id,
    membershipId: identity.membershipId,
    clientId: identity.clientId,
    clientSecret: created.clientSecret,
    clientSecretId: created.secret.id,
  };
}

/**
 * Fresh demo data. The login, throttle and token tests only add identities, secrets and tokens
 * of their own (and revoke or age only their own tokens), so they share one seed per group; the
 * tests that remove members, change roles or manage identities reseed before each test.
 */
async function seed() {
  manifest = await reseed();
  acme = orgOf(manifest, "acme");
}

// ---------------------------------------------------------------------------------------------

describe("Universal Auth login", () => {
  beforeAll(seed);

  async function expectGoodLogin(request: () => Promise<Res>) {
    const db = await testDb();
    const ident = deprovisioner();
    const demoSecret = () => db.identityClientSecret.findFirstOrThrow({ where: { identityId: ident.identityId } });
    const usesBefore = (await demoSecret()).numUses;
    const res = await request();
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.headers.get("content-type")).toBe(JSON_TYPE);
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
    expect((await listOverRest(acme.id, token)).status).toBe(200);
  }

  it("answers a JSON login with the upstream service's four keys and a working identity token", async () => {
    const { clientId, clientSecret } = deprovisioner();
    await expectGoodLogin(() => login(clientId, clientSecret));
  });

  it("accepts a form-encoded login too", async () => {
    const { clientId, clientSecret } = deprovisioner();
    await expectGoodLogin(() => send("POST", LOGIN, { form: { clientId, clientSecret } }));
  });

  it("ignores a stale Authorization header sent along (clients re-log in with their old bearer)", async () => {
    const { clientId, clientSecret } = deprovisioner();
    const res = await login(clientId, clientSecret, { authorization: "Bearer not-a-token" });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
  });

  it("refuses a wrong secret and an unknown client id alike: 401 Invalid credentials, nothing issued", async () => {
    const db = await testDb();
    const ident = deprovisioner();
    const other = await makeIdentity({ role: "member" });
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
    const res = await send("POST", LOGIN, { json: { clientId: deprovisioner().clientId } });
    expect(res.status).toBe(422);
    expect(res.body.error).toBe("ValidationFailure");
    expect(res.body.message).toEqual([expect.objectContaining({ path: ["clientSecret"] })]);
  });

  it("refuses an expired client secret (and revokes it), but not one within its TTL", async () => {
    const db = await testDb();
    const made = await makeIdentity({ role: "member" }, { ttl: 60 });
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
    const made = await makeIdentity({ role: "member" }, { numUsesLimit: 2 });
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
    const made = await makeIdentity({ role: "member" }, { numUsesLimit: 3 });
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
    const made = await makeIdentity({ role: "member" }, { numUsesLimit: 1 });
    expect((await login(made.clientId, made.clientSecret)).status).toBe(200);
    // Well past the five free attempts: each one is the 401 of a spent (then revoked) secret, never a 429.
    for (let i = 0; i < 8; i++) {
      const r = await login(made.clientId, made.clientSecret);
      expectEnvelope(r, 401, "UnauthorizedError", expect.toBeOneOf([MSG.secretUsedUp, MSG.invalidCredentials]));
    }
  });

  it("refuses a revoked client secret with the same 401 Invalid credentials", async () => {
    const made = await makeIdentity({ role: "member" });
    const admin = await trpcAs(adminToken());
    await admin.identities.revokeClientSecret({
      organizationId: acme.id,
      identityId: made.identityId,
      clientSecretId: made.clientSecretId,
    });
    expectEnvelope(await login(made.clientId, made.clientSecret), 401, "UnauthorizedError", MSG.invalidCredentials);
  });

  it("refuses a login from outside the client secret's trusted ranges with 403, whatever X-Forwarded-For says", async () => {
    const db = await testDb();
    const made = await makeIdentity({ role: "member", universalAuth: { clientSecretTrustedIps: ["10.0.0.0/8"] } });
    for (const headers of SPOOFING_HEADERS) {
      const res = await login(made.clientId, made.clientSecret, headers);
      expectEnvelope(res, 403, "ForbiddenError", MSG.ipNotAllowed);
    }
    expect(await db.identityAccessToken.count({ where: { identityId: made.identityId } })).toBe(0);
    expect((await db.identityClientSecret.findUniqueOrThrow({ where: { id: made.clientSecretId } })).numUses).toBe(0);
  });

  it("lets a login in from a trusted range (127.0.0.0/8)", async () => {
    const made = await makeIdentity({
      role: "member",
      universalAuth: { clientSecretTrustedIps: ["10.0.0.0/8", "127.0.0.0/8"] },
    });
    const res = await login(made.clientId, made.clientSecret);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
  });
});

describe("the login throttle over HTTP", () => {
  beforeAll(seed);

  it("answers 429 RateLimitExceeded with Retry-After after 5 failures for one client id, even to the right secret", async () => {
    const made = await makeIdentity({ role: "member" });
    for (let i = 1; i <= 5; i++) {
      const res = await login(made.clientId, "0".repeat(64));
      expect(res.status, `failure ${i}`).toBe(401);
      expect(res.body.message).toBe(MSG.invalidCredentials);
    }
    for (const secret of ["0".repeat(64), made.clientSecret]) {
      const res = await login(made.clientId, secret);
      const retryAfter = Number(res.headers.get("retry-after"));
      expect(Number.isInteger(retryAfter) && retryAfter > 0 && retryAfter <= 30, `Retry-After ${retryAfter}`).toBe(
        true,
      );
      expectEnvelope(res, 429, "RateLimitExceeded", MSG.rateLimited(retryAfter));
    }
    // Other client ids are not affected.
    const other = await makeIdentity({ role: "member" });
    expect((await login(other.clientId, other.clientSecret)).status).toBe(200);
  });

  it("throttles an unknown client id the same way", async () => {
    const clientId = randomUUID();
    for (let i = 1; i <= 5; i++) expect((await login(clientId, "0".repeat(64))).status).toBe(401);
    const res = await login(clientId, "0".repeat(64));
    expect(res.status).toBe(429);
    expect(res.body.error).toBe("RateLimitExceeded");
    expect(res.headers.get("retry-after")).toMatch(/^\d+$/);
  });

  it("starts counting afresh after a success", async () => {
    const made = await makeIdentity({ role: "member" });
    for (let i = 0; i < 4; i++) expect((await login(made.clientId, "0".repeat(64))).status).toBe(401);
    expect((await login(made.clientId, made.clientSecret)).status).toBe(200);
    for (let i = 0; i < 4; i++) expect((await login(made.clientId, "0".repeat(64))).status).toBe(401);
    expect((await login(made.clientId, made.clientSecret)).status).toBe(200);
  });
});

describe("identity access tokens", () => {
  beforeAll(seed);

  it("stop working once revoked: 401 StaleSession on REST and tRPC; a second revoke or a renew finds no token", async () => {
    const token = await tokenFor(deprovisioner());
    const res = await send("POST", REVOKE, { json: { accessToken: token } });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toEqual({ message: MSG.revoked });

    const after = await listOverRest(acme.id, token);
    expectEnvelope(after, 401, "StaleSession", MSG.stale);
    expect(after.headers.get("www-authenticate")).toBe('Bearer error="invalid_token"');
    const viaTrpc = await outcome(async () =>
      (await trpcAs(token)).organizations.listMemberships({ organizationId: acme.id }),
    );
    expect(viaTrpc).toMatchObject({ status: 401, error: "StaleSession", message: MSG.stale });

    expectEnvelope(await send("POST", REVOKE, { json: { accessToken: token } }), 401, "UnauthorizedError", MSG.noToken);
    expectEnvelope(await send("POST", RENEW, { json: { accessToken: token } }), 401, "UnauthorizedError", MSG.noToken);
  });

  it("revoke takes a form-encoded body too, and refuses a user token with 400", async () => {
    const token = await tokenFor(deprovisioner());
    expect((await send("POST", REVOKE, { form: { accessToken: token } })).status).toBe(200);
    expectEnvelope(
      await send("POST", REVOKE, { json: { accessToken: adminToken() } }),
      400,
      "BadRequest",
      MSG.revokeUserToken,
    );
    // The user's token is untouched.
    expect((await listOverRest(acme.id, adminToken())).status).toBe(200);
  });

  it("count every accepted request, on either surface, against accessTokenNumUsesLimit", async () => {
    const db = await testDb();
    const made = await makeIdentity({ role: "member", universalAuth: { accessTokenNumUsesLimit: 3 } });
    const token = await tokenFor(made);
    expect((await listOverRest(acme.id, token)).status).toBe(200);
    const trpc = await trpcAs(token);
    expect(await outcome(() => trpc.organizations.listMemberships({ organizationId: acme.id }))).toMatchObject({
      status: 200,
    });
    expect((await listOverRest(acme.id, token)).status).toBe(200);
    expectEnvelope(await listOverRest(acme.id, token), 401, "StaleSession", MSG.stale);
    expect(await outcome(() => trpc.organizations.listMemberships({ organizationId: acme.id }))).toMatchObject({
      status: 401,
      error: "StaleSession",
    });
    const row = await db.identityAccessToken.findUniqueOrThrow({
      where: { id: claimsOf(token).identityAccessTokenId as string },
    });
    expect(row).toMatchObject({ numUses: 3, numUsesLimit: 3 });
    // A new login gets a new allowance.
    expect((await listOverRest(acme.id, await tokenFor(made))).status).toBe(200);
  });

  it("never let parallel requests overspend the uses limit", async () => {
    const made = await makeIdentity({ role: "member", universalAuth: { accessTokenNumUsesLimit: 4 } });
    const token = await tokenFor(made);
    const answers = await Promise.all(Array.from({ length: 12 }, () => listOverRest(acme.id, token)));
    expect(answers.filter((r) => r.status === 200)).toHaveLength(4);
    expect(answers.filter((r) => r.status === 401 && r.body.error === "StaleSession")).toHaveLength(8);
  });

  it("are refused from outside the access token's trusted ranges with 403, whatever X-Forwarded-For says", async () => {
    const db = await testDb();
    const made = await makeIdentity({ role: "member", universalAuth: { accessTokenTrustedIps: ["10.0.0.0/8"] } });
    // The client secret has no ranges: the login works from anywhere.
    const token = await tokenFor(made);
    for (const headers of SPOOFING_HEADERS) {
      expectEnvelope(await listOverRest(acme.id, token, headers), 403, "ForbiddenError", MSG.ipNotAllowed);
    }
    // tRPC: the context's address decides; an unknown one is not trusted.
    const list = (ip: string | null) =>
      outcome(async () => (await trpcAs(token, { ip })).organizations.listMemberships({ organizationId: acme.id }));
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
    const made = await makeIdentity({ role: "member", universalAuth: { accessTokenTrustedIps: ["127.0.0.0/8"] } });
    expect((await listOverRest(acme.id, await tokenFor(made))).status).toBe(200);
  });

  it("expire a TTL after login: 401 StaleSession once the server-side token is older than its TTL", async () => {
    const db = await testDb();
    const token = await tokenFor(deprovisioner());
    const id = claimsOf(token).identityAccessTokenId as string;
    await db.identityAccessToken.update({ where: { id }, data: { createdAt: new Date(Date.now() - 3_590_000) } });
    expect((await listOverRest(acme.id, token)).status).toBe(200);
    await db.identityAccessToken.update({ where: { id }, data: { createdAt: new Date(Date.now() - 3_601_000) } });
    expectEnvelope(await listOverRest(acme.id, token), 401, "StaleSession", MSG.stale);
    expect(
      await outcome(async () => (await trpcAs(token)).organizations.listMemberships({ organizationId: acme.id })),
    ).toMatchObject({ status: 401, error: "StaleSession" });
  });

  it("expire with their JWT: a token past its exp is 401 TokenError, on REST and tRPC", async () => {
    const token = await tokenFor(deprovisioner());
    const now = Math.floor(Date.now() / 1000);
    const stale = signHs256({ ...claimsOf(token), iat: now - 3700, exp: now - 100 });
    const res = await listOverRest(acme.id, stale);
    expectEnvelope(res, 401, "TokenError", MSG.expired);
    expect(res.headers.get("www-authenticate")).toBe('Bearer error="invalid_token"');
    expect(
      await outcome(async () => (await trpcAs(stale)).organizations.listMemberships({ organizationId: acme.id })),
    ).toMatchObject({ status: 401, error: "TokenError", message: MSG.expired });
    // Renewing it is refused alike.
    expectEnvelope(await send("POST", RENEW, { json: { accessToken: stale } }), 401, "TokenError", MSG.expired);
  });

  it("renew: a new token for the same server-side token, valid for another TTL from now", async () => {
    const db = await testDb();
    const ident = deprovisioner();
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
    expect((await listOverRest(acme.id, renewed)).status).toBe(200);
    // A form-encoded renew works too.
    expect((await send("POST", RENEW, { form: { accessToken: renewed } })).status).toBe(200);
  });

  it("renew: refused with 401 when another TTL would pass the max TTL", async () => {
    const db = await testDb();
    // TTL = max TTL: no renewal can fit.
    const made = await makeIdentity({
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
    const token = await tokenFor(deprovisioner());
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
    expect((await listOverRest(acme.id, token)).status).toBe(200);
  });

  it("renew: refused with 400 for a user's access token", async () => {
    expectEnvelope(
      await send("POST", RENEW, { json: { accessToken: adminToken() } }),
      400,
      "BadRequest",
      MSG.renewUserToken,
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Identity tokens on both surfaces of the memberships operations

interface Surface {
  name: "rest" | "trpc";
  list(token: string, orgId?: string): Promise<Outcome & { reqId: string }>;
  bulkDelete(token: string, ids: string[], orgId?: string): Promise<Outcome & { reqId: string }>;
}

function fromRest(res: Res): Outcome & { reqId: string } {
  const reqId = res.headers.get("x-request-id") ?? "";
  if (res.status === 200) return { status: 200, data: res.body, reqId };
  expectEnvelope(res, res.status, res.body.error as string, res.body.message);
  return {
    status: res.status,
    error: res.body.error as string,
    message: res.body.message as string,
    details: res.body.details,
    reqId,
  };
}

const newReqId = () => `req-${randomUUID().replaceAll("-", "").slice(0, 14)}`;

const SURFACES: Surface[] = [
  {
    name: "rest",
    list: async (token, orgId = acme.id) => fromRest(await listOverRest(orgId, token)),
    bulkDelete: async (token, ids, orgId = acme.id) =>
      fromRest(await send("DELETE", membershipsPath(orgId), { bearer: token, json: { membershipIds: ids } })),
  },
  {
    name: "trpc",
    async list(token, orgId = acme.id) {
      const reqId = newReqId();
      const trpc = await trpcAs(token, { reqId });
      const result = await outcome(async () => {
        const users: unknown[] = [];
        for (let cursor: string | null = null; ; ) {
          const page = await trpc.organizations.listMemberships({
            organizationId: orgId,
            limit: 500,
            sortBy: "createdAt",
            cursor,
          });
          users.push(...page.items);
          cursor = page.nextCursor;
          if (!cursor) return { users };
        }
      });
      return { ...result, reqId };
    },
    async bulkDelete(token, ids, orgId = acme.id) {
      const reqId = newReqId();
      const trpc = await trpcAs(token, { reqId });
      const result = await outcome(() =>
        trpc.organizations.bulkDeleteMemberships({ organizationId: orgId, membershipIds: ids }),
      );
      return { ...result, reqId };
    },
  },
];

describe.each(SURFACES)("an identity's token over $name", (surface) => {
  beforeEach(seed);

  it("lists the members: users only, never an identity", async () => {
    const db = await testDb();
    const made = await makeIdentity({ role: "member", name: "lister" });
    const res = await surface.list(await tokenFor(deprovisioner()));
    expect(res.status, JSON.stringify(res)).toBe(200);
    const users = (res.data as { users: { id: string; user: { email: string } | null }[] }).users;
    const memberships = await db.orgMembership.findMany({ where: { orgId: acme.id }, select: { id: true } });
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
    const ident = deprovisioner();
    const ids = [idOf("user002@acme.test"), idOf("user001@acme.test")];
    const res = await surface.bulkDelete(await tokenFor(ident), ids);
    expect(res.status, JSON.stringify(res)).toBe(200);
    expect((res.data as { memberships: { id: string }[] }).memberships.map((m) => m.id)).toEqual(ids);
    expect(await db.orgMembership.count({ where: { id: { in: ids } } })).toBe(0);

    const events = await db.auditEvent.findMany({ where: { targetId: { in: ids } } });
    expect(events).toHaveLength(2);
    for (const e of events) {
      expect(e).toMatchObject({
        orgId: acme.id,
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
    const ident = deprovisioner();
    const own = await db.identityOrgMembership.findUniqueOrThrow({ where: { identityId: ident.identityId } });
    const member = idOf("user003@acme.test");
    const token = await tokenFor(ident);
    for (const ids of [[own.id], [member, own.id]]) {
      const res = await surface.bulkDelete(token, ids);
      expect(res).toMatchObject({ status: 404, error: "NotFound", message: MSG.notFound(acme.id, [own.id]) });
    }
    // Nor another identity's.
    const other = await makeIdentity({ role: "member" });
    const res = await surface.bulkDelete(token, [other.membershipId]);
    expect(res).toMatchObject({ status: 404, error: "NotFound", message: MSG.notFound(acme.id, [other.membershipId]) });
    expect(await db.orgMembership.count({ where: { id: member } })).toBe(1);
    expect(await db.identityOrgMembership.count()).toBe(2);
    expect(await db.auditEvent.count()).toBe(0);
  });

  it("is refused the bulk delete with 403 PermissionDenied when the identity's role is member", async () => {
    const made = await makeIdentity({ role: "member" });
    const token = await tokenFor(made);
    const res = await surface.bulkDelete(token, [idOf("user004@acme.test")]);
    expect(res).toMatchObject({
      status: 403,
      error: "PermissionDenied",
      message: MSG.denied("delete", "member"),
      details: [{ subject: "member", actions: ["read"] }],
    });
    // It may read the list.
    expect((await surface.list(token)).status).toBe(200);
  });

  it("is refused the list with 403 PermissionDenied when the identity's role is no-access", async () => {
    const made = await makeIdentity({ role: "no-access" });
    const res = await surface.list(await tokenFor(made));
    expect(res).toMatchObject({
      status: 403,
      error: "PermissionDenied",
      message: MSG.denied("read", "member"),
      details: [],
    });
  });

  it("is scoped to the identity's organization (check 8)", async () => {
    const globex = orgOf(manifest, "globex");
    const res = await surface.bulkDelete(await tokenFor(deprovisioner()), [], globex.id);
    expect(res).toMatchObject({ status: 403, error: "ForbiddenError", message: MSG.scope(acme.id) });
  });

  it("cannot remove the last admin: an admin identity does not count as one", async () => {
    const db = await testDb();
    const token = await tokenFor(deprovisioner());
    const admin = idOf("admin@acme.test");
    const admin2 = idOf("admin2@acme.test");
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

// ---------------------------------------------------------------------------------------------

describe("identity management over tRPC", () => {
  beforeEach(seed);

  it("creates an identity with its Universal Auth settings, which logins then follow", async () => {
    const db = await testDb();
    const admin = await trpcAs(adminToken());
    const settings = {
      accessTokenTTL: 600,
      accessTokenMaxTTL: 1200,
      accessTokenNumUsesLimit: 10,
      clientSecretTrustedIps: ["127.0.0.0/8", "::1"],
      accessTokenTrustedIps: ["127.0.0.0/8"],
    };
    const created = await admin.identities.create({
      organizationId: acme.id,
      name: "ci-runner",
      role: "member",
      universalAuth: settings,
    });
    expect(created).toMatchObject({
      name: "ci-runner",
      role: "member",
      roleId: null,
      universalAuth: settings,
      clientSecrets: [],
      accessTokens: [],
    });
    expect(created.clientId).toMatch(/^[0-9a-f-]{36}$/);
    const membership = await db.identityOrgMembership.findUniqueOrThrow({ where: { identityId: created.id } });
    expect(membership).toMatchObject({ id: created.membershipId, orgId: acme.id, role: "member" });
    // Not a user membership.
    expect(await db.orgMembership.count({ where: { id: created.membershipId } })).toBe(0);

    const { clientSecret } = await admin.identities.createClientSecret({
      organizationId: acme.id,
      identityId: created.id,
    });
    const res = await login(created.clientId, clientSecret);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ expiresIn: 600, accessTokenMaxTTL: 1200 });
    const claims = claimsOf(res.body.accessToken as string);
    expect((claims.exp as number) - (claims.iat as number)).toBe(600);
    const row = await db.identityAccessToken.findUniqueOrThrow({
      where: { id: claims.identityAccessTokenId as string },
    });
    expect(row).toMatchObject({ ttl: 600, maxTTL: 1200, numUsesLimit: 10 });

    // A duplicate name is refused.
    expect(
      await outcome(() => admin.identities.create({ organizationId: acme.id, name: "ci-runner", role: "member" })),
    ).toMatchObject({ status: 400, error: "BadRequest" });
  });

  it("shows a client secret once: only its hash and prefix are stored, and lists never carry it", async () => {
    const db = await testDb();
    const admin = await trpcAs(adminToken());
    const ident = deprovisioner();
    const created = await admin.identities.createClientSecret({
      organizationId: acme.id,
      identityId: ident.identityId,
      description: "nightly job",
      ttl: 3600,
      numUsesLimit: 5,
    });
    expect(created.clientSecret).toMatch(/^[0-9a-f]{64}$/);
    expect(created.clientId).toBe(ident.clientId);
    expect(created.secret).toMatchObject({
      description: "nightly job",
      prefix: created.clientSecret.slice(0, 4),
      ttl: 3600,
      numUses: 0,
      numUsesLimit: 5,
      isRevoked: false,
    });
    expect(JSON.stringify(created.secret)).not.toContain(created.clientSecret);

    const row = await db.identityClientSecret.findUniqueOrThrow({ where: { id: created.secret.id } });
    expect(row.secretPrefix).toBe(created.clientSecret.slice(0, 4));
    expect(row.secretHash).toBe(createHash("sha256").update(created.clientSecret).digest("hex"));
    expect(JSON.stringify(row)).not.toContain(created.clientSecret);

    const { identities } = await admin.identities.list({ organizationId: acme.id });
    const listed = identities.find((i) => i.id === ident.identityId);
    expect(listed?.clientSecrets.map((s) => s.id).sort()).toEqual(
      [
        created.secret.id,
        (await db.identityClientSecret.findFirstOrThrow({ where: { description: "demo" } })).id,
      ].sort(),
    );
    expect(listed?.clientSecrets.find((s) => s.id === created.secret.id)).toEqual(created.secret);
    const text = JSON.stringify(identities);
    expect(text).not.toContain(created.clientSecret);
    expect(text).not.toContain(ident.clientSecret);
    expect(text).not.toContain(row.secretHash);

    // The new secret logs in.
    expect((await login(ident.clientId, created.clientSecret)).status).toBe(200);
  });

  it("revoking a client secret revokes the tokens it issued, and no others", async () => {
    const admin = await trpcAs(adminToken());
    const made = await makeIdentity({ role: "member" });
    const second = await admin.identities.createClientSecret({ organizationId: acme.id, identityId: made.identityId });
    const fromFirst = await tokenFor(made);
    const fromSecond = await tokenFor({ clientId: made.clientId, clientSecret: second.clientSecret });

    await admin.identities.revokeClientSecret({
      organizationId: acme.id,
      identityId: made.identityId,
      clientSecretId: made.clientSecretId,
    });
    expectEnvelope(await listOverRest(acme.id, fromFirst), 401, "StaleSession", MSG.stale);
    expectEnvelope(await login(made.clientId, made.clientSecret), 401, "UnauthorizedError", MSG.invalidCredentials);
    expect((await listOverRest(acme.id, fromSecond)).status).toBe(200);

    const { identities } = await admin.identities.list({ organizationId: acme.id });
    const listed = identities.find((i) => i.id === made.identityId);
    expect(listed?.clientSecrets.find((s) => s.id === made.clientSecretId)?.isRevoked).toBe(true);
    expect(listed?.accessTokens.map((t) => t.id)).toEqual([claimsOf(fromSecond).identityAccessTokenId]);
  });

  it("revokes one access token", async () => {
    const admin = await trpcAs(adminToken());
    const made = await makeIdentity({ role: "member" });
    const [a, b] = [await tokenFor(made), await tokenFor(made)] as [string, string];
    await admin.identities.revokeAccessToken({
      organizationId: acme.id,
      identityId: made.identityId,
      tokenId: claimsOf(a).identityAccessTokenId as string,
    });
    expectEnvelope(await listOverRest(acme.id, a), 401, "StaleSession", MSG.stale);
    expect((await listOverRest(acme.id, b)).status).toBe(200);
  });

  it("deleting an identity ends its tokens and its credentials", async () => {
    const db = await testDb();
    const admin = await trpcAs(adminToken());
    const made = await makeIdentity({ role: "admin" });
    const token = await tokenFor(made);
    expect((await listOverRest(acme.id, token)).status).toBe(200);

    expect(await admin.identities.delete({ organizationId: acme.id, identityId: made.identityId })).toEqual({
      ok: true,
    });
    expectEnvelope(await listOverRest(acme.id, token), 401, "StaleSession", MSG.stale);
    expect(
      await outcome(async () => (await trpcAs(token)).organizations.listMemberships({ organizationId: acme.id })),
    ).toMatchObject({ status: 401, error: "StaleSession" });
    expectEnvelope(await login(made.clientId, made.clientSecret), 401, "UnauthorizedError", MSG.invalidCredentials);
    expect(await db.identity.count({ where: { id: made.identityId } })).toBe(0);
    expect(await db.identityAccessToken.count({ where: { identityId: made.identityId } })).toBe(0);
    const { identities } = await admin.identities.list({ organizationId: acme.id });
    expect(identities.map((i) => i.name)).toEqual(["deprovisioner"]);
  });

  it("will not let a caller create an identity with a role beyond their own", async () => {
    const db = await testDb();
    const remover = await trpcAs(tokenOf(manifest, "acme", "remover@acme.test"));
    const create = (name: string, role: "admin" | "member") =>
      outcome(() => remover.identities.create({ organizationId: acme.id, name, role }));

    // The remover's custom role (member: read, delete) has no right to create identities at all.
    expect(await create("escalated", "admin")).toMatchObject({
      status: 403,
      error: "PermissionDenied",
      message: MSG.denied("create", "identity"),
    });

    // Given that right, it may create identities no stronger than itself, and no admin.
    const role = acme.customRoles.find((r) => r.slug === "member-remover");
    if (!role) throw new Error("no member-remover role");
    await db.orgRoleDefinition.update({
      where: { id: role.id },
      data: {
        permissions: [
          { subject: "member", actions: ["read", "delete"] },
          { subject: "identity", actions: ["create"] },
        ],
      },
    });
    expect(await create("escalated", "admin")).toMatchObject({
      status: 403,
      error: "PermissionBoundaryError",
      message: MSG.roleBoundary,
    });
    expect(await db.identity.count({ where: { name: "escalated" } })).toBe(0);
    expect(await create("reader", "member")).toMatchObject({ status: 200 });

    // A plain member may not even list identities.
    const member = await trpcAs(tokenOf(manifest, "acme", "member@acme.test"));
    expect(await outcome(() => member.identities.list({ organizationId: acme.id }))).toMatchObject({
      status: 403,
      error: "PermissionDenied",
      message: MSG.denied("read", "identity"),
    });
  });

  it("lets an admin identity manage identities with its own token", async () => {
    const trpc = await trpcAs(await tokenFor(deprovisioner()));
    const created = await outcome(() =>
      trpc.identities.create({ organizationId: acme.id, name: "made-by-robot", role: "member" }),
    );
    expect(created).toMatchObject({ status: 200, data: { name: "made-by-robot", role: "member" } });
  });
});
