// User access tokens (contract, "Access tokens"): HS256 JWTs with the upstream service's claims.
// Verification runs check 2 of the contract: malformed, wrong algorithm, bad signature or type,
// expired. Checks 3 to 5 need the database and live in caller.ts.
import { createDecoder, createSigner, createVerifier, TokenError as JwtError } from "fast-jwt";
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

/** The most secrets whose signers and verifiers are kept (a process has one; tests sign with a few). */
const MAX_KEYS = 16;

type Sign = (payload: Record<string, unknown>) => string;
type Verify = (token: string) => Record<string, unknown>;
const signers = new Map<string, Sign>();
const verifiers = new Map<string, Verify>();

/** A value made once per secret, in a map that never holds more than MAX_KEYS. */
function perSecret<T>(map: Map<string, T>, secret: string, make: () => T): T {
  let value = map.get(secret);
  if (value === undefined) {
    if (map.size >= MAX_KEYS) map.clear();
    value = make();
    map.set(secret, value);
  }
  return value;
}

// HS256 through fast-jwt, which signs and verifies with Node's HMAC synchronously. (With jose the
// verification went through WebCrypto: an asynchronous job per request, about 0.15 ms of the
// server's CPU for each 1-id removal in its profile.) The claims carry their own iat and exp.
const signerOf = (secret: string): Sign =>
  perSecret(signers, secret, () => createSigner({ key: secret, algorithm: "HS256" }));
const verifierOf = (secret: string): Verify =>
  perSecret(verifiers, secret, () => createVerifier({ key: secret, algorithms: ["HS256"], cache: false }));
const decodeComplete = createDecoder({ complete: true }) as (token: string) => { header: Record<string, unknown> };

export async function signAccessToken(
  claims: Omit<AccessTokenClaims, "authTokenType" | "iat" | "exp">,
  secret: string,
  ttlSeconds = DEFAULT_TOKEN_TTL_SECONDS,
  now = Math.floor(Date.now() / 1000),
): Promise<string> {
  return signerOf(secret)({ authTokenType: ACCESS_TOKEN_TYPE, ...claims, iat: now, exp: now + ttlSeconds });
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
  return signerOf(secret)({ authTokenType: IDENTITY_ACCESS_TOKEN_TYPE, ...claims, iat: now, exp: now + ttlSeconds });
}

/** Check 2's signature, algorithm and expiry part: the payload of a well-signed, unexpired JWT. */
async function verifiedPayload(token: string, secret: string): Promise<Record<string, unknown>> {
  let alg: unknown;
  try {
    alg = decodeComplete(token).header.alg;
  } catch {
    throw TokenError.malformed();
  }
  if (token.split(".").length !== 3) throw TokenError.malformed();
  if (alg !== "HS256") throw TokenError.invalidAlgorithm();
  let payload: unknown;
  try {
    payload = verifierOf(secret)(token);
  } catch (err) {
    const code = err instanceof JwtError ? err.code : null;
    if (code === JwtError.codes.expired) throw TokenError.expired();
    if (code === JwtError.codes.invalidSignature) throw TokenError.invalid();
    if (code === JwtError.codes.invalidAlgorithm) throw TokenError.invalidAlgorithm();
    throw TokenError.malformed();
  }
  if (typeof payload !== "object" || payload === null || Array.isArray(payload)) throw TokenError.malformed();
  return payload as Record<string, unknown>;
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
