// The one verification path for every caller, bearer token or web sign-in: checks 1 to 5 of the
// contract. It reads the session and the membership on every call: no cache may let a revoked
// session or a removed member through.
import type { OrgRole, PermissionRule } from "@roster/contract";
import type { Db } from "@roster/db";
import { fromDbRole } from "@roster/db";
import { ForbiddenError, NoOrganizationError, StaleSessionError, UnauthorizedError } from "../errors";
import { rulesForRole } from "../permissions";
import { verifyAccessTokenSignature } from "./tokens";

export interface SessionPrincipal {
  userId: string;
  email: string;
  sessionId: string;
}

export interface OrgMembershipView {
  id: string;
  role: OrgRole;
  roleId: string | null;
}

/** A caller resolved for one organization. */
export interface Caller extends SessionPrincipal {
  organizationId: string;
  membership: OrgMembershipView;
  rules: PermissionRule[];
}

/** How often a session's last-used time is refreshed (a write per request would be wasteful). */
const LAST_USED_GRANULARITY_MS = 60_000;

/** Check 3: the session exists, belongs to the user, is neither revoked nor expired, and its version matches. */
export async function resolveSession(
  prisma: Db,
  claims: { userId: string; sessionId: string; accessVersion: number },
): Promise<SessionPrincipal> {
  const session = await prisma.authSession.findUnique({
    where: { id: claims.sessionId },
    select: {
      userId: true,
      accessVersion: true,
      revokedAt: true,
      expiresAt: true,
      lastUsedAt: true,
      user: { select: { email: true, isLocked: true } },
    },
  });
  const now = Date.now();
  if (
    !session ||
    session.userId !== claims.userId ||
    session.revokedAt !== null ||
    session.expiresAt.getTime() <= now ||
    session.accessVersion !== claims.accessVersion ||
    session.user.isLocked
  ) {
    throw new StaleSessionError();
  }
  if (now - session.lastUsedAt.getTime() > LAST_USED_GRANULARITY_MS) {
    await prisma.authSession.updateMany({
      where: { id: claims.sessionId, lastUsedAt: session.lastUsedAt },
      data: { lastUsedAt: new Date(now) },
    });
  }
  return { userId: claims.userId, email: session.user.email, sessionId: claims.sessionId };
}

/** Check 5: the user holds an active, accepted membership of the organization. */
export async function resolveMembership(
  prisma: Db,
  principal: SessionPrincipal,
  organizationId: string,
): Promise<Caller> {
  const membership = await prisma.orgMembership.findFirst({
    where: { orgId: organizationId, userId: principal.userId, status: "accepted" },
    select: {
      id: true,
      role: true,
      roleId: true,
      isActive: true,
      customRole: { select: { permissions: true } },
    },
  });
  if (!membership) throw new ForbiddenError("User not member of organization");
  if (!membership.isActive) throw new ForbiddenError("User organization membership is inactive");
  const role = fromDbRole(membership.role);
  return {
    ...principal,
    organizationId,
    membership: { id: membership.id, role, roleId: membership.roleId },
    rules: rulesForRole(role, membership.customRole?.permissions),
  };
}

/** Check 1: the bearer token of an Authorization header, or null when there is none. */
export function bearerToken(authorization: string | null | undefined): string | null {
  if (!authorization) return null;
  const match = /^Bearer[ \t]+(\S.*)$/i.exec(authorization.trim());
  return match?.[1]?.trim() || null;
}

/** Checks 1 to 5 for a bearer access token. */
export async function verifyBearer(
  prisma: Db,
  authorization: string | null | undefined,
  secret: string,
): Promise<Caller> {
  const token = bearerToken(authorization);
  if (!token) throw new UnauthorizedError("Token missing");
  const claims = await verifyAccessTokenSignature(token, secret);
  const principal = await resolveSession(prisma, {
    userId: claims.userId,
    sessionId: claims.tokenVersionId,
    accessVersion: claims.accessVersion,
  });
  if (!claims.organizationId) throw new NoOrganizationError();
  return resolveMembership(prisma, principal, claims.organizationId);
}
