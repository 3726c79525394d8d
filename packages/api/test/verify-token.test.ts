// Checks 1 to 5 of the contract ("Order of checks", "Access tokens"), row by row: once against
// verifyBearer directly and once over HTTP against the running app (tRPC `viewer.me`).
import { getConfig } from "@roster/config";
import type { DemoManifest } from "@roster/contract";
import { CompactSign, decodeJwt, SignJWT } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import type { z } from "zod";
import { verifyBearer } from "../src/auth/caller";
import { issueAccessToken } from "../src/auth/sessions";
import { signAccessToken } from "../src/auth/tokens";
import { AppError } from "../src/errors";
import { can } from "../src/permissions";
import type { ViewerDto } from "../src/router/viewer";
import { baseUrl, memberOf, orgOf, reseed, testDb, tokenOf } from "./support";

const MALFORMED =
  "The provided access token is malformed. Please use a valid token or generate a new one and try again.";
const BAD_ALGORITHM =
  "The access token is signed with an invalid algorithm. Please provide a valid token and try again.";
const INVALID = "The provided access token is invalid.";
const EXPIRED = "Your token has expired. Please re-authenticate.";
const STALE = "User session is stale, please re-authenticate";
const NO_ORG = "Unauthorized Access, no organization found in request";
const NOT_MEMBER = "User not member of organization";
const INACTIVE = "User organization membership is inactive";

const BEARER = "Bearer";
const INVALID_TOKEN = 'Bearer error="invalid_token"';
const REQ_ID = /^req-[A-Za-z0-9]{14}$/;

const secret = () => getConfig().authSecret;
const key = (s: string) => new TextEncoder().encode(s);
const b64url = (value: unknown) =>
  Buffer.from(typeof value === "string" ? value : JSON.stringify(value)).toString("base64url");

interface Expected {
  status: number;
  error: string;
  message: string;
  /** The WWW-Authenticate value, or null when the answer carries none (403). */
  wwwAuthenticate: string | null;
}

interface Row extends Expected {
  name: string;
  /** Prepares the database if the row needs it and returns the Authorization header to send. */
  authorization: (m: DemoManifest) => Promise<string | undefined>;
}

const acmeId = (m: DemoManifest) => orgOf(m, "acme").id;
const userIdOf = (m: DemoManifest, email: string) => memberOf(m, "acme", email).userId as string;

/** A fresh server-side session for admin@acme.test and a valid token for it. */
async function freshAdminSession(m: DemoManifest) {
  return issueAccessToken(await testDb(), secret(), {
    userId: userIdOf(m, "admin@acme.test"),
    organizationId: acmeId(m),
  });
}

/** Valid claims of admin@acme.test on a session of its own (for tokens signed by hand). */
async function adminClaims(m: DemoManifest) {
  const { sessionId } = await freshAdminSession(m);
  return {
    userId: userIdOf(m, "admin@acme.test"),
    tokenVersionId: sessionId,
    accessVersion: 1,
    organizationId: acmeId(m),
  };
}

async function membershipOf(m: DemoManifest, email: string) {
  return memberOf(m, "acme", email).membershipId;
}

const token = (t: string) => `Bearer ${t}`;

const ROWS: Row[] = [
  // check 1
  {
    name: "no Authorization header",
    authorization: async () => undefined,
    status: 401,
    error: "UnauthorizedError",
    message: "Token missing",
    wwwAuthenticate: BEARER,
  },
  {
    name: "a Basic Authorization header",
    authorization: async () => "Basic xyz",
    status: 401,
    error: "UnauthorizedError",
    message: "Token missing",
    wwwAuthenticate: BEARER,
  },
  {
    name: "Bearer with no token",
    authorization: async () => "Bearer   ",
    status: 401,
    error: "UnauthorizedError",
    message: "Token missing",
    wwwAuthenticate: BEARER,
  },
  // check 2: malformed
  {
    name: "a garbage token",
    authorization: async () => token("garbage"),
    status: 401,
    error: "TokenError",
    message: MALFORMED,
    wwwAuthenticate: INVALID_TOKEN,
  },
  {
    name: "a token of two segments",
    authorization: async (m) => {
      const [header, payload] = tokenOf(m, "acme", "admin@acme.test").split(".");
      return token(`${header}.${payload}`);
    },
    status: 401,
    error: "TokenError",
    message: MALFORMED,
    wwwAuthenticate: INVALID_TOKEN,
  },
  {
    name: "a header that is not base64 JSON",
    authorization: async (m) => {
      const [, payload, signature] = tokenOf(m, "acme", "admin@acme.test").split(".");
      return token(`${b64url("not json")}.${payload}.${signature}`);
    },
    status: 401,
    error: "TokenError",
    message: MALFORMED,
    wwwAuthenticate: INVALID_TOKEN,
  },
  {
    name: "a well-signed payload that is not JSON",
    authorization: async () =>
      token(
        await new CompactSign(key("not json")).setProtectedHeader({ alg: "HS256", typ: "JWT" }).sign(key(secret())),
      ),
    status: 401,
    error: "TokenError",
    message: MALFORMED,
    wwwAuthenticate: INVALID_TOKEN,
  },
  {
    name: "a well-signed token whose userId is not a UUID",
    authorization: async (m) => token(await signAccessToken({ ...(await adminClaims(m)), userId: "admin" }, secret())),
    status: 401,
    error: "TokenError",
    message: MALFORMED,
    wwwAuthenticate: INVALID_TOKEN,
  },
  // check 2: algorithm
  {
    name: "alg none",
    authorization: async (m) => {
      const now = Math.floor(Date.now() / 1000);
      const payload = { authTokenType: "accessToken", ...(await adminClaims(m)), iat: now, exp: now + 3600 };
      return token(`${b64url({ alg: "none", typ: "JWT" })}.${b64url(payload)}.`);
    },
    status: 401,
    error: "TokenError",
    message: BAD_ALGORITHM,
    wwwAuthenticate: INVALID_TOKEN,
  },
  ...(["HS512", "HS384"] as const).map(
    (alg): Row => ({
      name: `${alg} signed with the right secret`,
      authorization: async (m) =>
        token(
          await new SignJWT({ authTokenType: "accessToken", ...(await adminClaims(m)) })
            .setProtectedHeader({ alg, typ: "JWT" })
            .setIssuedAt()
            .setExpirationTime("1h")
            .sign(key(secret())),
        ),
      status: 401,
      error: "TokenError",
      message: BAD_ALGORITHM,
      wwwAuthenticate: INVALID_TOKEN,
    }),
  ),
  // check 2: signature and type
  {
    name: "a token signed with another secret",
    authorization: async (m) => token(await signAccessToken(await adminClaims(m), `${secret()}-but-not-quite`)),
    status: 401,
    error: "TokenError",
    message: INVALID,
    wwwAuthenticate: INVALID_TOKEN,
  },
  {
    name: 'authTokenType "refreshToken"',
    authorization: async (m) =>
      token(
        await new SignJWT({ ...(await adminClaims(m)), authTokenType: "refreshToken" })
          .setProtectedHeader({ alg: "HS256", typ: "JWT" })
          .setIssuedAt()
          .setExpirationTime("1h")
          .sign(key(secret())),
      ),
    status: 401,
    error: "TokenError",
    message: INVALID,
    wwwAuthenticate: INVALID_TOKEN,
  },
  {
    name: "no authTokenType",
    authorization: async (m) =>
      token(
        await new SignJWT({ ...(await adminClaims(m)) })
          .setProtectedHeader({ alg: "HS256", typ: "JWT" })
          .setIssuedAt()
          .setExpirationTime("1h")
          .sign(key(secret())),
      ),
    status: 401,
    error: "TokenError",
    message: INVALID,
    wwwAuthenticate: INVALID_TOKEN,
  },
  // check 2: expiry
  {
    name: "an expired token",
    authorization: async (m) => {
      const twoHoursAgo = Math.floor(Date.now() / 1000) - 7200;
      return token(await signAccessToken(await adminClaims(m), secret(), 3600, twoHoursAgo));
    },
    status: 401,
    error: "TokenError",
    message: EXPIRED,
    wwwAuthenticate: INVALID_TOKEN,
  },
  // check 3
  {
    name: "a revoked session",
    authorization: async (m) => {
      const issued = await freshAdminSession(m);
      await (await testDb()).authSession.update({ where: { id: issued.sessionId }, data: { revokedAt: new Date() } });
      return token(issued.token);
    },
    status: 401,
    error: "StaleSession",
    message: STALE,
    wwwAuthenticate: INVALID_TOKEN,
  },
  {
    name: "a session expired on the server",
    authorization: async (m) => {
      const issued = await freshAdminSession(m);
      await (await testDb()).authSession.update({
        where: { id: issued.sessionId },
        data: { expiresAt: new Date(Date.now() - 1000) },
      });
      return token(issued.token);
    },
    status: 401,
    error: "StaleSession",
    message: STALE,
    wwwAuthenticate: INVALID_TOKEN,
  },
  {
    name: "a stale access version",
    authorization: async (m) => {
      const issued = await freshAdminSession(m);
      await (await testDb()).authSession.update({
        where: { id: issued.sessionId },
        data: { accessVersion: { increment: 1 } },
      });
      return token(issued.token);
    },
    status: 401,
    error: "StaleSession",
    message: STALE,
    wwwAuthenticate: INVALID_TOKEN,
  },
  {
    name: "a session that does not exist",
    authorization: async (m) =>
      token(await signAccessToken({ ...(await adminClaims(m)), tokenVersionId: crypto.randomUUID() }, secret())),
    status: 401,
    error: "StaleSession",
    message: STALE,
    wwwAuthenticate: INVALID_TOKEN,
  },
  {
    name: "a session of another user",
    authorization: async (m) =>
      token(await signAccessToken({ ...(await adminClaims(m)), userId: userIdOf(m, "member@acme.test") }, secret())),
    status: 401,
    error: "StaleSession",
    message: STALE,
    wwwAuthenticate: INVALID_TOKEN,
  },
  {
    name: "a locked user",
    authorization: async (m) => {
      await (await testDb()).user.update({ where: { id: userIdOf(m, "user010@acme.test") }, data: { isLocked: true } });
      return token(tokenOf(m, "acme", "user010@acme.test"));
    },
    status: 401,
    error: "StaleSession",
    message: STALE,
    wwwAuthenticate: INVALID_TOKEN,
  },
  // check 4
  {
    name: "a token with no organizationId",
    authorization: async (m) => {
      const { organizationId: _, ...claims } = await adminClaims(m);
      return token(await signAccessToken(claims, secret()));
    },
    status: 401,
    error: "UnauthorizedError",
    message: NO_ORG,
    wwwAuthenticate: INVALID_TOKEN,
  },
  // check 5
  {
    name: "a removed member",
    authorization: async (m) => {
      await (await testDb()).orgMembership.deleteMany({ where: { id: await membershipOf(m, "user011@acme.test") } });
      return token(tokenOf(m, "acme", "user011@acme.test"));
    },
    status: 403,
    error: "ForbiddenError",
    message: NOT_MEMBER,
    wwwAuthenticate: null,
  },
  {
    name: "a token for an organization the user never joined",
    authorization: async (m) =>
      token(await signAccessToken({ ...(await adminClaims(m)), organizationId: orgOf(m, "globex").id }, secret())),
    status: 403,
    error: "ForbiddenError",
    message: NOT_MEMBER,
    wwwAuthenticate: null,
  },
  {
    name: "an inactive member",
    authorization: async (m) => token(tokenOf(m, "acme", "inactive01@acme.test")),
    status: 403,
    error: "ForbiddenError",
    message: INACTIVE,
    wwwAuthenticate: null,
  },
  {
    name: "an invited-only membership",
    authorization: async (m) => {
      await (await testDb()).orgMembership.update({
        where: { id: await membershipOf(m, "user012@acme.test") },
        data: { status: "invited" },
      });
      return token(tokenOf(m, "acme", "user012@acme.test"));
    },
    status: 403,
    error: "ForbiddenError",
    message: NOT_MEMBER,
    wwwAuthenticate: null,
  },
];

interface TrpcBody {
  result?: { data: z.infer<typeof ViewerDto> };
  error?: { message: string; data: { httpStatus: number; error: string; reqId: string | null } };
}

async function viewerMe(authorization: string | undefined) {
  const res = await fetch(`${baseUrl()}/api/trpc/viewer.me`, {
    headers: authorization === undefined ? {} : { authorization },
  });
  return { res, body: (await res.json()) as TrpcBody };
}

describe("verifyBearer, checks 1 to 5", () => {
  let manifest: DemoManifest;
  beforeAll(async () => {
    manifest = await reseed();
  });

  it.each(ROWS)("refuses $name: $status $error", async (row) => {
    const authorization = await row.authorization(manifest);
    const err = await verifyBearer(await testDb(), authorization, secret()).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AppError);
    const app = err as AppError;
    expect({ status: app.status, error: app.errorName, message: app.message }).toEqual({
      status: row.status,
      error: row.error,
      message: row.message,
    });
    expect(app.headers["WWW-Authenticate"] ?? null).toBe(row.wwwAuthenticate);
  });

  it("accepts a valid token and returns the caller with its rules", async () => {
    const prisma = await testDb();
    const acme = orgOf(manifest, "acme");
    const admin = memberOf(manifest, "acme", "admin@acme.test");
    const caller = await verifyBearer(prisma, token(tokenOf(manifest, "acme", admin.email)), secret());
    expect(caller).toMatchObject({
      userId: admin.userId,
      email: admin.email,
      sessionId: decodeJwt(admin.accessToken as string).tokenVersionId,
      organizationId: acme.id,
      membership: { id: admin.membershipId, role: "admin", roleId: null },
    });
    expect(can(caller.rules, "delete", "member")).toBe(true);

    const member = memberOf(manifest, "acme", "member@acme.test");
    const plain = await verifyBearer(prisma, `bearer ${member.accessToken}`, secret());
    expect(plain).toMatchObject({ userId: member.userId, organizationId: acme.id, membership: { role: "member" } });
    expect(can(plain.rules, "read", "member")).toBe(true);
    expect(can(plain.rules, "delete", "member")).toBe(false);

    const remover = memberOf(manifest, "acme", "remover@acme.test");
    const custom = await verifyBearer(prisma, token(remover.accessToken as string), secret());
    expect(custom.membership).toEqual({ id: remover.membershipId, role: "custom", roleId: remover.roleId });
    expect(can(custom.rules, "delete", "member")).toBe(true);

    // the same user's token for the other organization resolves that membership
    const inGlobex = await verifyBearer(prisma, token(tokenOf(manifest, "globex", member.email)), secret());
    expect(inGlobex).toMatchObject({ userId: member.userId, organizationId: orgOf(manifest, "globex").id });
  });

  it("keeps accepting a valid token and refuses a removed member at once", async () => {
    const prisma = await testDb();
    const user = memberOf(manifest, "acme", "user020@acme.test");
    const authorization = token(user.accessToken as string);
    for (let i = 0; i < 3; i++) {
      await expect(verifyBearer(prisma, authorization, secret())).resolves.toMatchObject({ userId: user.userId });
    }
    await prisma.orgMembership.delete({ where: { id: user.membershipId } });
    await expect(verifyBearer(prisma, authorization, secret())).rejects.toMatchObject({
      status: 403,
      errorName: "ForbiddenError",
      message: NOT_MEMBER,
    });
  });
});

describe("GET /api/trpc/viewer.me, checks 1 to 5 over HTTP", () => {
  let manifest: DemoManifest;
  beforeAll(async () => {
    manifest = await reseed();
  });

  it.each(ROWS)("refuses $name: $status $error", async (row) => {
    const { res, body } = await viewerMe(await row.authorization(manifest));
    expect(res.status).toBe(row.status);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect({
      error: body.error?.data?.error,
      message: body.error?.message,
      httpStatus: body.error?.data?.httpStatus,
    }).toEqual({
      error: row.error,
      message: row.message,
      httpStatus: row.status,
    });
    expect(body.error?.data.reqId).toMatch(REQ_ID);
    expect(res.headers.get("x-request-id")).toBe(body.error?.data.reqId);
    expect(res.headers.get("www-authenticate")).toBe(row.wwwAuthenticate);
    expect(body).not.toHaveProperty("result");
  });

  it("answers 200 with the caller and the token's organization only", async () => {
    const acme = orgOf(manifest, "acme");
    const admin = memberOf(manifest, "acme", "admin@acme.test");
    const { res, body } = await viewerMe(token(admin.accessToken as string));
    expect(res.status).toBe(200);
    expect(res.headers.get("x-request-id")).toMatch(REQ_ID);
    expect(res.headers.get("www-authenticate")).toBeNull();
    expect(body.result?.data).toMatchObject({
      user: { id: admin.userId, email: admin.email, firstName: expect.any(String), lastName: expect.any(String) },
      organizations: [
        { id: acme.id, slug: "acme", name: "Acme Corp", role: "admin", membershipId: admin.membershipId },
      ],
      limits: { maxBulkDelete: getConfig().maxBulkDelete, restoreWindowDays: getConfig().restoreWindowDays },
    });
    expect(can(body.result?.data.organizations[0]?.rules ?? [], "delete", "member")).toBe(true);

    // member@acme.test belongs to both organizations; each token sees only its own
    const globex = orgOf(manifest, "globex");
    const inGlobex = memberOf(manifest, "globex", "member@acme.test");
    const other = await viewerMe(token(inGlobex.accessToken as string));
    expect(other.res.status).toBe(200);
    expect(other.body.result?.data.organizations).toMatchObject([
      { id: globex.id, slug: "globex", name: "Globex", role: "member", membershipId: inGlobex.membershipId },
    ]);
    const memberRules = other.body.result?.data.organizations[0]?.rules ?? [];
    expect(can(memberRules, "read", "member")).toBe(true);
    expect(can(memberRules, "delete", "member")).toBe(false);
  });

  it("keeps answering a token that verified, on every next request", async () => {
    const authorization = token(tokenOf(manifest, "acme", "member@acme.test"));
    const ids = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const { res, body } = await viewerMe(authorization);
      expect(res.status).toBe(200);
      expect(body.result?.data.user.email).toBe("member@acme.test");
      ids.add(res.headers.get("x-request-id") as string);
    }
    expect(ids.size).toBe(3);
  });

  it("refuses a removed member's token on its very next request", async () => {
    const user = memberOf(manifest, "acme", "user021@acme.test");
    const authorization = token(user.accessToken as string);
    const before = await viewerMe(authorization);
    expect(before.res.status).toBe(200);
    expect(before.body.result?.data.organizations).toHaveLength(1);

    await (await testDb()).orgMembership.delete({ where: { id: user.membershipId } });
    const after = await viewerMe(authorization);
    expect(after.res.status).toBe(403);
    expect(after.body.error?.message).toBe(NOT_MEMBER);
    expect(after.body.error?.data).toMatchObject({ httpStatus: 403, error: "ForbiddenError" });
    expect(after.res.headers.get("x-request-id")).toBe(after.body.error?.data.reqId);
  });

  it("refuses a token on its next request once its session is revoked", async () => {
    const issued = await freshAdminSession(manifest);
    expect((await viewerMe(token(issued.token))).res.status).toBe(200);
    await (await testDb()).authSession.update({ where: { id: issued.sessionId }, data: { revokedAt: new Date() } });
    const { res, body } = await viewerMe(token(issued.token));
    expect(res.status).toBe(401);
    expect(body.error?.data.error).toBe("StaleSession");
    expect(res.headers.get("www-authenticate")).toBe(INVALID_TOKEN);
  });
});
