// User access tokens (contract, "Access tokens"): HS256 JWTs with the upstream service's claims.
// Verification runs check 2 of the contract: malformed, wrong algorithm, bad signature or type,
// expired. Checks 3 to 5 need the database and live in caller.ts.
import { webcrypto } from "node:crypto";
import { decodeProtectedHeader, errors, jwtVerify, SignJWT } from "jose";
import { TokenError } from "../errors";

export const ACCESS_TOKEN_TYPE = "accessToken";
export const DEFAULT_TOKEN_TTL_SECONDS = 24 * 60 * 60;

export interface AccessTokenClaims {
  authTokenType: typeof ACCESS_TOKEN_TYPE;
  userId: string;
  tokenVersionId: string;
  accessVersion: number;
  /** Absent on a token that is not scoped to an organization (check 4 refuses it). */
  organizationId?: string;
  iat: number;
  exp: number;
}

/** The most secrets whose keys are kept (a process has one; tests sign with a few). */
const MAX_KEYS = 16;
const keys = new Map<string, Promise<webcrypto.CryptoKey>>();

/**
 * The HMAC key of a secret, imported once: given the raw secret (or a Node KeyObject, which it
 * exports), jose imports it through WebCrypto anew on every call; a CryptoKey it uses as it is
 * (the profile of a 1-id removal showed the import at about 0.03 ms a request).
 */
function keyOf(secret: string): Promise<webcrypto.CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    if (keys.size >= MAX_KEYS) keys.clear();
    key = webcrypto.subtle.importKey("raw", Buffer.from(secret, "utf8"), { name: "HMAC", hash: "SHA-256" }, false, [
      "sign",
      "verify",
    ]);
    keys.set(secret, key);
  }
  return key;
}

export async function signAccessToken(
  claims: Omit<AccessTokenClaims, "authTokenType" | "iat" | "exp">,
  secret: string,
  ttlSeconds = DEFAULT_TOKEN_TTL_SECONDS,
  now = Math.floor(Date.now() / 1000),
): Promise<string> {
  return new SignJWT({ authTokenType: ACCESS_TOKEN_TYPE, ...claims })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuedAt(now)
    .setExpirationTime(now + ttlSeconds)
    .sign(await keyOf(secret));
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const isUuidish = (v: unknown): v is string => typeof v === "string" && UUID.test(v);

export const IDENTITY_ACCESS_TOKEN_TYPE = "identityAccessToken";

/** The claims of a machine identity's access token (the upstream service's names). */
export interface IdentityAccessTokenClaims {
  authTokenType: typeof IDENTITY_ACCESS_TOKEN_TYPE;
  identityId: string;
  clientSecretId: string | null;
  identityAccessTokenId: string;
  iat: number;
  exp: number;
}

export type VerifiedToken =
  | { kind: "user"; claims: AccessTokenClaims }
  | { kind: "identity"; claims: IdentityAccessTokenClaims };

export async function signIdentityAccessToken(
  claims: Omit<IdentityAccessTokenClaims, "authTokenType" | "iat" | "exp">,
  secret: string,
  ttlSeconds: number,
  now = Math.floor(Date.now() / 1000),
): Promise<string> {
  return new SignJWT({ authTokenType: IDENTITY_ACCESS_TOKEN_TYPE, ...claims })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuedAt(now)
    .setExpirationTime(now + ttlSeconds)
    .sign(await keyOf(secret));
}

/** Check 2's signature, algorithm and expiry part: the payload of a well-signed, unexpired JWT. */
async function verifiedPayload(token: string, secret: string): Promise<Record<string, unknown>> {
  let alg: unknown;
  try {
    alg = decodeProtectedHeader(token).alg;
  } catch {
    throw TokenError.malformed();
  }
  if (token.split(".").length !== 3) throw TokenError.malformed();
  if (alg !== "HS256") throw TokenError.invalidAlgorithm();
  try {
    return (await jwtVerify(token, await keyOf(secret), { algorithms: ["HS256"] })).payload;
  } catch (err) {
    if (err instanceof errors.JWTExpired) throw TokenError.expired();
    if (err instanceof errors.JWSSignatureVerificationFailed) throw TokenError.invalid();
    if (err instanceof errors.JOSEAlgNotAllowed) throw TokenError.invalidAlgorithm();
    throw TokenError.malformed();
  }
}

const times = (payload: Record<string, unknown>) => ({ iat: Number(payload.iat), exp: Number(payload.exp) });

function userClaims(payload: Record<string, unknown>): AccessTokenClaims {
  const { userId, tokenVersionId, accessVersion, organizationId } = payload;
  if (!isUuidish(userId) || !isUuidish(tokenVersionId) || !Number.isInteger(accessVersion)) {
    throw TokenError.malformed();
  }
  if (organizationId !== undefined && organizationId !== null && !isUuidish(organizationId)) {
    throw TokenError.malformed();
  }
  return {
    authTokenType: ACCESS_TOKEN_TYPE,
    userId,
    tokenVersionId,
    accessVersion: accessVersion as number,
    ...(isUuidish(organizationId) ? { organizationId } : {}),
    ...times(payload),
  };
}

function identityClaims(payload: Record<string, unknown>): IdentityAccessTokenClaims {
  const { identityId, identityAccessTokenId, clientSecretId } = payload;
  if (!isUuidish(identityId) || !isUuidish(identityAccessTokenId)) throw TokenError.malformed();
  if (clientSecretId !== undefined && clientSecretId !== null && !isUuidish(clientSecretId))
    throw TokenError.malformed();
  return {
    authTokenType: IDENTITY_ACCESS_TOKEN_TYPE,
    identityId,
    identityAccessTokenId,
    clientSecretId: isUuidish(clientSecretId) ? clientSecretId : null,
    ...times(payload),
  };
}

/** Check 2 for any access token: a user's or a machine identity's; any other type is invalid. */
export async function verifyTokenSignature(token: string, secret: string): Promise<VerifiedToken> {
  const payload = await verifiedPayload(token, secret);
  if (payload.authTokenType === ACCESS_TOKEN_TYPE) return { kind: "user", claims: userClaims(payload) };
  if (payload.authTokenType === IDENTITY_ACCESS_TOKEN_TYPE)
    return { kind: "identity", claims: identityClaims(payload) };
  throw TokenError.invalid();
}

/** Check 2 for a user access token only. */
export async function verifyAccessTokenSignature(token: string, secret: string): Promise<AccessTokenClaims> {
  const verified = await verifyTokenSignature(token, secret);
  if (verified.kind !== "user") throw TokenError.invalid();
  return verified.claims;
}
