// Checks 1 to 5 of the contract ("Order of checks", "Access tokens") as rows: the Authorization
// header a caller sends (made against the demo data, changing it where the row needs) and the
// refusal it must get. verify-token.test.ts runs them against verifyBearer, and
// verify-token-http.test.ts over HTTP (tRPC `viewer.me`).
import { getConfig } from "@roster/config";
import type { DemoManifest } from "@roster/contract";
import { CompactSign, SignJWT } from "jose";
import { issueAccessToken } from "../src/auth/sessions";
import { signAccessToken } from "../src/auth/tokens";
import { MSG, memberOf, orgOf, testDb, tokenOf } from "./support";

export const BEARER = "Bearer";
export const INVALID_TOKEN = 'Bearer error="invalid_token"';

export const secret = () => getConfig().authSecret;
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

export interface Row extends Expected {
  name: string;
  /** Prepares the database if the row needs it and returns the Authorization header to send. */
  authorization: (m: DemoManifest) => Promise<string | undefined>;
}

/** A refusal: a 401 carries WWW-Authenticate (`invalid_token` unless told otherwise), a 403 none. */
const refusal = (status: 401 | 403, error: string, message: string, www = INVALID_TOKEN): Expected => ({
  status,
  error,
  message,
  wwwAuthenticate: status === 401 ? www : null,
});

// The refusals, by check.
const MISSING = refusal(401, "UnauthorizedError", MSG.tokenMissing, BEARER);
const MALFORMED = refusal(401, "TokenError", MSG.malformed);
const ALGORITHM = refusal(401, "TokenError", MSG.badAlgorithm);
const INVALID = refusal(401, "TokenError", MSG.invalid);
const EXPIRED = refusal(401, "TokenError", MSG.expired);
const STALE = refusal(401, "StaleSession", MSG.stale);
const NO_ORG = refusal(401, "UnauthorizedError", MSG.noOrganization);
const NOT_MEMBER = refusal(403, "ForbiddenError", MSG.notMember);
const INACTIVE = refusal(403, "ForbiddenError", MSG.inactive);

const acmeId = (m: DemoManifest) => orgOf(m, "acme").id;
const userIdOf = (m: DemoManifest, email: string) => memberOf(m, "acme", email).userId as string;
const membershipOf = (m: DemoManifest, email: string) => memberOf(m, "acme", email).membershipId;

export const token = (t: string) => `Bearer ${t}`;

/** A fresh server-side session for admin@acme.test and a valid token for it. */
export async function freshAdminSession(m: DemoManifest) {
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

/** `claims` signed with the server's secret by `alg`, issued now for an hour. */
const signedBy = async (alg: string, claims: Record<string, unknown>) =>
  token(
    await new SignJWT(claims)
      .setProtectedHeader({ alg, typ: "JWT" })
      .setIssuedAt()
      .setExpirationTime("1h")
      .sign(key(secret())),
  );

/** A valid token of a fresh admin session, whose server-side row is then changed by `data()`. */
const sessionChanged =
  (data: () => { revokedAt?: Date; expiresAt?: Date; accessVersion?: { increment: number } }) =>
  async (m: DemoManifest) => {
    const issued = await freshAdminSession(m);
    await (await testDb()).authSession.update({ where: { id: issued.sessionId }, data: data() });
    return token(issued.token);
  };

export const ROWS: Row[] = [
  // check 1
  { name: "no Authorization header", authorization: async () => undefined, ...MISSING },
  { name: "a Basic Authorization header", authorization: async () => "Basic xyz", ...MISSING },
  { name: "Bearer with no token", authorization: async () => "Bearer   ", ...MISSING },
  // check 2: malformed
  { name: "a garbage token", authorization: async () => token("garbage"), ...MALFORMED },
  {
    name: "a token of two segments",
    authorization: async (m) => {
      const [header, payload] = tokenOf(m, "acme", "admin@acme.test").split(".");
      return token(`${header}.${payload}`);
    },
    ...MALFORMED,
  },
  {
    name: "a header that is not base64 JSON",
    authorization: async (m) => {
      const [, payload, signature] = tokenOf(m, "acme", "admin@acme.test").split(".");
      return token(`${b64url("not json")}.${payload}.${signature}`);
    },
    ...MALFORMED,
  },
  {
    name: "a well-signed payload that is not JSON",
    authorization: async () =>
      token(
        await new CompactSign(key("not json")).setProtectedHeader({ alg: "HS256", typ: "JWT" }).sign(key(secret())),
      ),
    ...MALFORMED,
  },
  {
    name: "a well-signed token whose userId is not a UUID",
    authorization: async (m) => token(await signAccessToken({ ...(await adminClaims(m)), userId: "admin" }, secret())),
    ...MALFORMED,
  },
  // check 2: algorithm
  {
    name: "alg none",
    authorization: async (m) => {
      const now = Math.floor(Date.now() / 1000);
      const payload = { authTokenType: "accessToken", ...(await adminClaims(m)), iat: now, exp: now + 3600 };
      return token(`${b64url({ alg: "none", typ: "JWT" })}.${b64url(payload)}.`);
    },
    ...ALGORITHM,
  },
  ...(["HS512", "HS384"] as const).map(
    (alg): Row => ({
      name: `${alg} signed with the right secret`,
      authorization: async (m) => signedBy(alg, { authTokenType: "accessToken", ...(await adminClaims(m)) }),
      ...ALGORITHM,
    }),
  ),
  // check 2: signature and type
  {
    name: "a token signed with another secret",
    authorization: async (m) => token(await signAccessToken(await adminClaims(m), `${secret()}-but-not-quite`)),
    ...INVALID,
  },
  {
    name: 'authTokenType "refreshToken"',
    authorization: async (m) => signedBy("HS256", { ...(await adminClaims(m)), authTokenType: "refreshToken" }),
    ...INVALID,
  },
  {
    name: "no authTokenType",
    authorization: async (m) => signedBy("HS256", { ...(await adminClaims(m)) }),
    ...INVALID,
  },
  // check 2: expiry
  {
    name: "an expired token",
    authorization: async (m) => {
      const twoHoursAgo = Math.floor(Date.now() / 1000) - 7200;
      return token(await signAccessToken(await adminClaims(m), secret(), 3600, twoHoursAgo));
    },
    ...EXPIRED,
  },
  // check 3
  { name: "a revoked session", authorization: sessionChanged(() => ({ revokedAt: new Date() })), ...STALE },
  {
    name: "a session expired on the server",
    authorization: sessionChanged(() => ({ expiresAt: new Date(Date.now() - 1000) })),
    ...STALE,
  },
  {
    name: "a stale access version",
    authorization: sessionChanged(() => ({ accessVersion: { increment: 1 } })),
    ...STALE,
  },
  {
    name: "a session that does not exist",
    authorization: async (m) =>
      token(await signAccessToken({ ...(await adminClaims(m)), tokenVersionId: crypto.randomUUID() }, secret())),
    ...STALE,
  },
  {
    name: "a session of another user",
    authorization: async (m) =>
      token(await signAccessToken({ ...(await adminClaims(m)), userId: userIdOf(m, "member@acme.test") }, secret())),
    ...STALE,
  },
  {
    name: "a locked user",
    authorization: async (m) => {
      await (await testDb()).user.update({ where: { id: userIdOf(m, "user010@acme.test") }, data: { isLocked: true } });
      return token(tokenOf(m, "acme", "user010@acme.test"));
    },
    ...STALE,
  },
  // check 4
  {
    name: "a token with no organizationId",
    authorization: async (m) => {
      const { organizationId: _, ...claims } = await adminClaims(m);
      return token(await signAccessToken(claims, secret()));
    },
    ...NO_ORG,
  },
  // check 5
  {
    name: "a removed member",
    authorization: async (m) => {
      await (await testDb()).orgMembership.deleteMany({ where: { id: membershipOf(m, "user011@acme.test") } });
      return token(tokenOf(m, "acme", "user011@acme.test"));
    },
    ...NOT_MEMBER,
  },
  {
    name: "a token for an organization the user never joined",
    authorization: async (m) =>
      token(await signAccessToken({ ...(await adminClaims(m)), organizationId: orgOf(m, "globex").id }, secret())),
    ...NOT_MEMBER,
  },
  {
    name: "an inactive member",
    authorization: async (m) => token(tokenOf(m, "acme", "inactive01@acme.test")),
    ...INACTIVE,
  },
  {
    name: "an invited-only membership",
    authorization: async (m) => {
      await (await testDb()).orgMembership.update({
        where: { id: membershipOf(m, "user012@acme.test") },
        data: { status: "invited" },
      });
      return token(tokenOf(m, "acme", "user012@acme.test"));
    },
    ...NOT_MEMBER,
  },
];
