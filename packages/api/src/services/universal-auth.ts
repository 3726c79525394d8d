// Universal Auth for machine identities, wire-compatible with the upstream service: log in with
// a client id and secret, renew within the max TTL, revoke.
import type { IdentityAccessTokenResponse, UniversalAuthLoginBody } from "@roster/contract";
import { type Db, hashClientSecret } from "@roster/db";
import { IP_NOT_ALLOWED, ipAllowed } from "../auth/ip";
import { signIdentityAccessToken, verifyTokenSignature } from "../auth/tokens";
import { BadRequestError, ForbiddenError, UnauthorizedError } from "../errors";
import { type LoginThrottle, throttles } from "./throttles";

const INVALID_CREDENTIALS = "Invalid credentials";

export interface Origin {
  ip: string | null;
  userAgent: string | null;
}

function tokenResponse(accessToken: string, ttl: number, maxTTL: number): IdentityAccessTokenResponse {
  return { accessToken, expiresIn: ttl, accessTokenMaxTTL: maxTTL, tokenType: "Bearer" };
}

export async function universalAuthLogin(
  prisma: Db,
  secret: string,
  body: UniversalAuthLoginBody,
  origin: Origin,
  throttle: LoginThrottle = throttles().universalAuth,
): Promise<IdentityAccessTokenResponse> {
  // Counted before anything is looked up; every path below settles the attempt exactly once.
  const attempt = await throttle.begin(body.clientId);
  try {
    const issued = await loginOrNull(prisma, body, origin);
    if (!issued.ok) {
      // Only a wrong client id or secret is a guess. A secret that matched but is revoked,
      // expired or used up proves the caller holds it: refused, but no step towards a lockout
      // (else parallel logins of one holder lock each other out once its uses run out).
      if (issued.guess) await attempt.failed();
      throw new UnauthorizedError(issued.message);
    }
    await attempt.succeeded();
    const { ua, clientSecretId, tokenId } = issued;
    const accessToken = await signIdentityAccessToken(
      { identityId: ua.identityId, clientSecretId, identityAccessTokenId: tokenId },
      secret,
      ua.accessTokenTTL,
    );
    return tokenResponse(accessToken, ua.accessTokenTTL, ua.accessTokenMaxTTL);
  } finally {
    // Anything else (an IP rule, a database error) is not a guess: as if it never started.
    await attempt.abandoned();
  }
}

type LoginResult =
  | { ok: false; message: string; guess: boolean }
  | {
      ok: true;
      ua: { identityId: string; accessTokenTTL: number; accessTokenMaxTTL: number };
      clientSecretId: string;
      tokenId: string;
    };

async function loginOrNull(prisma: Db, body: UniversalAuthLoginBody, origin: Origin): Promise<LoginResult> {
  const ua = await prisma.identityUniversalAuth.findUnique({ where: { clientId: body.clientId } });
  if (!ua) return { ok: false, message: INVALID_CREDENTIALS, guess: true };
  if (!ipAllowed(origin.ip, ua.clientSecretTrustedIps)) throw new ForbiddenError(IP_NOT_ALLOWED);

  const clientSecret = await prisma.identityClientSecret.findUnique({
    where: { secretHash: hashClientSecret(body.clientSecret) },
  });
  // A wrong secret and a revoked one answer alike: the caller learns nothing about which half was wrong.
  if (!clientSecret || clientSecret.identityId !== ua.identityId) {
    return { ok: false, message: INVALID_CREDENTIALS, guess: true };
  }
  if (clientSecret.isRevoked) return { ok: false, message: INVALID_CREDENTIALS, guess: false };
  if (clientSecret.ttl > 0 && Date.now() > clientSecret.createdAt.getTime() + clientSecret.ttl * 1000) {
    await prisma.identityClientSecret.update({ where: { id: clientSecret.id }, data: { isRevoked: true } });
    return { ok: false, message: "Access denied due to expired client secret", guess: false };
  }

  const token = await prisma.$transaction(async (tx) => {
    // Counted in the same statement that checks the limit, so parallel logins cannot overspend it.
    const counted = await tx.$executeRaw`
      UPDATE identity_client_secrets SET num_uses = num_uses + 1, last_used_at = now()
      WHERE id = ${clientSecret.id}::uuid AND NOT is_revoked AND (num_uses_limit = 0 OR num_uses < num_uses_limit)`;
    if (counted !== 1) return null;
    return tx.identityAccessToken.create({
      data: {
        identityId: ua.identityId,
        clientSecretId: clientSecret.id,
        ttl: ua.accessTokenTTL,
        maxTTL: ua.accessTokenMaxTTL,
        numUsesLimit: ua.accessTokenNumUsesLimit,
        ip: origin.ip,
        userAgent: origin.userAgent?.slice(0, 512) ?? null,
      },
      select: { id: true },
    });
  });
  if (!token) {
    await prisma.identityClientSecret.update({ where: { id: clientSecret.id }, data: { isRevoked: true } });
    return { ok: false, message: "Access denied due to client secret usage limit reached", guess: false };
  }
  return { ok: true, ua, clientSecretId: clientSecret.id, tokenId: token.id };
}

async function identityTokenRow(prisma: Db, secret: string, accessToken: string, verb: "renewed" | "revoked") {
  const verified = await verifyTokenSignature(accessToken, secret);
  if (verified.kind !== "identity") throw new BadRequestError(`Only identity access tokens can be ${verb}`);
  const row = await prisma.identityAccessToken.findUnique({ where: { id: verified.claims.identityAccessTokenId } });
  if (!row || row.isRevoked || row.identityId !== verified.claims.identityId) {
    throw new UnauthorizedError("No identity access token found");
  }
  return { row, claims: verified.claims };
}

/** A new token for the same server-side token, valid for another TTL, never past the max TTL. */
export async function renewIdentityAccessToken(
  prisma: Db,
  secret: string,
  accessToken: string,
): Promise<IdentityAccessTokenResponse> {
  const { row, claims } = await identityTokenRow(prisma, secret, accessToken, "renewed");
  if (row.numUsesLimit > 0 && row.numUses >= row.numUsesLimit) {
    throw new UnauthorizedError("Unable to renew because access token number of uses limit reached");
  }
  const now = Date.now();
  if (row.maxTTL > 0 && now + row.ttl * 1000 > row.createdAt.getTime() + row.maxTTL * 1000) {
    throw new UnauthorizedError("Failed to renew MI access token past its Max TTL expiration");
  }
  const renewed = await prisma.identityAccessToken.updateMany({
    where: { id: row.id, isRevoked: false },
    data: { lastRenewedAt: new Date(now) },
  });
  if (renewed.count !== 1) throw new UnauthorizedError("No identity access token found");
  const fresh = await signIdentityAccessToken(
    { identityId: claims.identityId, clientSecretId: claims.clientSecretId, identityAccessTokenId: row.id },
    secret,
    row.ttl,
  );
  return tokenResponse(fresh, row.ttl, row.maxTTL);
}

export async function revokeIdentityAccessToken(prisma: Db, secret: string, accessToken: string) {
  const { row } = await identityTokenRow(prisma, secret, accessToken, "revoked");
  await prisma.identityAccessToken.update({ where: { id: row.id }, data: { isRevoked: true } });
  return { message: "Successfully revoked access token" };
}
