// User access tokens (contract, "Access tokens"): HS256 JWTs with the upstream service's claims.
// Verification runs check 2 of the contract: malformed, wrong algorithm, bad signature or type,
// expired. Checks 3 to 5 need the database and live in caller.ts.
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

const encoder = new TextEncoder();
const keyOf = (secret: string) => encoder.encode(secret);

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
    .sign(keyOf(secret));
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const isUuidish = (v: unknown): v is string => typeof v === "string" && UUID.test(v);

/** Check 2: returns the claims of a well-formed, well-signed, unexpired access token. */
export async function verifyAccessTokenSignature(token: string, secret: string): Promise<AccessTokenClaims> {
  let alg: unknown;
  try {
    alg = decodeProtectedHeader(token).alg;
  } catch {
    throw TokenError.malformed();
  }
  if (token.split(".").length !== 3) throw TokenError.malformed();
  if (alg !== "HS256") throw TokenError.invalidAlgorithm();
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(token, keyOf(secret), { algorithms: ["HS256"] }));
  } catch (err) {
    if (err instanceof errors.JWTExpired) throw TokenError.expired();
    if (err instanceof errors.JWSSignatureVerificationFailed) throw TokenError.invalid();
    if (err instanceof errors.JOSEAlgNotAllowed) throw TokenError.invalidAlgorithm();
    throw TokenError.malformed();
  }
  if (payload.authTokenType !== ACCESS_TOKEN_TYPE) throw TokenError.invalid();
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
    iat: Number(payload.iat),
    exp: Number(payload.exp),
  };
}
