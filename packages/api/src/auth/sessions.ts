// Server-side sessions: the revocable half of every access token and of every web sign-in.
import type { Db } from "@roster/db";
import { DEFAULT_TOKEN_TTL_SECONDS, signAccessToken } from "./tokens";

export interface SessionOrigin {
  ip?: string | null;
  userAgent?: string | null;
}

export async function createSession(
  prisma: Db,
  userId: string,
  origin: SessionOrigin = {},
  ttlSeconds = DEFAULT_TOKEN_TTL_SECONDS,
) {
  return prisma.authSession.create({
    data: {
      userId,
      ip: origin.ip ?? null,
      userAgent: origin.userAgent?.slice(0, 512) ?? null,
      expiresAt: new Date(Date.now() + ttlSeconds * 1000),
    },
    select: { id: true, accessVersion: true, expiresAt: true },
  });
}

export async function revokeSession(prisma: Db, sessionId: string): Promise<void> {
  await prisma.authSession.updateMany({
    where: { id: sessionId, revokedAt: null },
    data: { revokedAt: new Date() },
  });
}

export interface TokenRequest {
  userId: string;
  organizationId: string;
  origin?: SessionOrigin;
  ttlSeconds?: number;
}

export interface IssuedToken {
  token: string;
  sessionId: string;
  expiresAt: Date;
}

/** Creates one session per request (in one statement) and signs an access token for each. */
export async function issueAccessTokens(prisma: Db, secret: string, requests: TokenRequest[]): Promise<IssuedToken[]> {
  if (requests.length === 0) return [];
  const now = Date.now();
  const ttls = requests.map((r) => r.ttlSeconds ?? DEFAULT_TOKEN_TTL_SECONDS);
  const sessions = await prisma.authSession.createManyAndReturn({
    data: requests.map((r, i) => ({
      userId: r.userId,
      ip: r.origin?.ip ?? null,
      userAgent: r.origin?.userAgent?.slice(0, 512) ?? null,
      expiresAt: new Date(now + (ttls[i] as number) * 1000),
    })),
    select: { id: true, accessVersion: true, expiresAt: true },
  });
  return Promise.all(
    sessions.map(async (session, i) => {
      const r = requests[i] as TokenRequest;
      const token = await signAccessToken(
        {
          userId: r.userId,
          tokenVersionId: session.id,
          accessVersion: session.accessVersion,
          organizationId: r.organizationId,
        },
        secret,
        ttls[i],
      );
      return { token, sessionId: session.id, expiresAt: session.expiresAt };
    }),
  );
}

/** Creates a session and signs an access token for it, scoped to one organization. */
export async function issueAccessToken(prisma: Db, secret: string, request: TokenRequest): Promise<IssuedToken> {
  const [issued] = await issueAccessTokens(prisma, secret, [request]);
  return issued as IssuedToken;
}
