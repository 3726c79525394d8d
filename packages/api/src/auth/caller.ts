// The one verification path for every caller, bearer token or web sign-in: checks 1 to 5 of the
// contract. It reads the session and the membership on every call: no cache may let a revoked
// session or a removed member through.
import type { OrgRole, PermissionRule } from "@roster/contract";
import { type Db, fromDbRole, PREPARED, Prisma, queryRows } from "@roster/db";
import { ForbiddenError, NoOrganizationError, StaleSessionError, UnauthorizedError } from "../errors";
import { rulesForRole } from "../permissions";
import { IP_NOT_ALLOWED, ipAllowed } from "./ip";
import { type IdentityAccessTokenClaims, verifyTokenSignature } from "./tokens";

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

interface CallerBase {
  organizationId: string;
  /** The caller's own membership (a machine identity's lives apart from user memberships). */
  membership: OrgMembershipView;
  rules: PermissionRule[];
}

/** A user resolved for one organization. */
export interface UserCaller extends CallerBase, SessionPrincipal {
  kind: "user";
}

/** A machine identity resolved for its organization. */
export interface IdentityCaller extends CallerBase {
  kind: "identity";
  identityId: string;
  identityName: string;
  tokenId: string;
}

export type Caller = UserCaller | IdentityCaller;

/** The id that audit events and logs record for the caller. */
export const actorIdOf = (caller: Caller): string => (caller.kind === "user" ? caller.userId : caller.identityId);

/** How often a session's last-used time is refreshed (a write per request would be wasteful). */
const LAST_USED_GRANULARITY_MS = 60_000;

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

// Checks 3 and 5 run on every request, so they are read with their joins written out (a Prisma
// `select` of a relation costs a second round trip): for a bearer token, both in one statement;
// for a web sign-in, one each (its organization is known only per procedure). docs/performance.md.

interface SessionClaims {
  userId: string;
  sessionId: string;
  accessVersion: number;
}

/** The session's columns that check 3 reads, and its user's. */
interface SessionRow {
  userId: string;
  accessVersion: number;
  revokedAt: Date | null;
  expiresAt: Date;
  lastUsedAt: Date;
  email: string;
  isLocked: boolean;
}

/** The caller's membership columns that check 5 reads (all null when there is none). */
interface MembershipColumns {
  membershipId: string | null;
  role: OrgRole | null;
  roleId: string | null;
  isActive: boolean | null;
  permissions: unknown;
}

const SESSION_COLUMNS = Prisma.sql`
  s.user_id AS "userId", s.access_version AS "accessVersion", s.revoked_at AS "revokedAt",
  s.expires_at AS "expiresAt", s.last_used_at AS "lastUsedAt", u.email, u.is_locked AS "isLocked"`;

/**
 * Check 3 on the session as read: it exists, belongs to the user, is neither revoked nor expired,
 * its version matches and its user is not locked. Refreshes its last-used time now and then.
 */
async function liveSession(
  prisma: Db,
  claims: SessionClaims,
  session: SessionRow | undefined,
): Promise<SessionPrincipal> {
  const now = Date.now();
  if (
    !session ||
    session.userId !== claims.userId ||
    session.revokedAt !== null ||
    session.expiresAt.getTime() <= now ||
    session.accessVersion !== claims.accessVersion ||
    session.isLocked
  ) {
    throw new StaleSessionError();
  }
  if (now - session.lastUsedAt.getTime() > LAST_USED_GRANULARITY_MS) {
    await prisma.authSession.updateMany({
      where: { id: claims.sessionId, lastUsedAt: session.lastUsedAt },
      data: { lastUsedAt: new Date(now) },
    });
  }
  return { userId: claims.userId, email: session.email, sessionId: claims.sessionId };
}

/** Check 5 on the membership as read: an active, accepted membership of the organization. */
function memberCaller(
  principal: SessionPrincipal,
  organizationId: string,
  m: MembershipColumns | undefined,
): UserCaller {
  if (!m?.membershipId || !m.role) throw new ForbiddenError("User not member of organization");
  if (!m.isActive) throw new ForbiddenError("User organization membership is inactive");
  return {
    kind: "user",
    ...principal,
    organizationId,
    membership: { id: m.membershipId, role: m.role, roleId: m.roleId },
    rules: rulesForRole(m.role, m.permissions),
  };
}

/** Check 3: the session exists, belongs to the user, is neither revoked nor expired, and its version matches. */
export async function resolveSession(prisma: Db, claims: SessionClaims): Promise<SessionPrincipal> {
  if (!UUID.test(claims.sessionId)) throw new StaleSessionError();
  const [session] = await prisma.$queryRaw<SessionRow[]>`
    SELECT ${SESSION_COLUMNS} FROM auth_sessions s JOIN users u ON u.id = s.user_id WHERE s.id = ${claims.sessionId}::uuid`;
  return liveSession(prisma, claims, session);
}

/** Check 5: the user holds an active, accepted membership of the organization. */
export async function resolveMembership(
  prisma: Db,
  principal: SessionPrincipal,
  organizationId: string,
): Promise<UserCaller> {
  const [membership] = UUID.test(organizationId)
    ? await prisma.$queryRaw<MembershipColumns[]>`
        SELECT m.id AS "membershipId", m.role::text AS role, m.role_id AS "roleId", m.is_active AS "isActive", r.permissions
        FROM org_memberships m LEFT JOIN org_roles r ON r.id = m.role_id
        WHERE m.org_id = ${organizationId}::uuid AND m.user_id = ${principal.userId}::uuid AND m.status = 'accepted'
        LIMIT 1`
    : [];
  return memberCaller(principal, organizationId, membership);
}

/**
 * Checks 3 and 5 for a user's token that names its organization, in one statement: the session
 * with its user and, beside it, the user's membership of that organization. Judged in the
 * contract's order (the session first), exactly as resolveSession and resolveMembership judge them.
 */
async function resolveSessionMember(prisma: Db, claims: SessionClaims, organizationId: string): Promise<UserCaller> {
  if (!UUID.test(claims.sessionId)) throw new StaleSessionError();
  const [row] = await queryRows<SessionRow & MembershipColumns>(
    prisma,
    sessionMemberStatement(claims.sessionId, organizationId),
  );
  const principal = await liveSession(prisma, claims, row);
  return memberCaller(principal, organizationId, row);
}

/**
 * The one statement of checks 3 and 5 for a bearer token (exported, like the removal's
 * statements, for the benchmark's raw-SQL baseline, which sends this very statement). Prepared:
 * every bearer request sends it.
 */
export function sessionMemberStatement(sessionId: string, organizationId: string): Prisma.Sql {
  const orgId = UUID.test(organizationId) ? organizationId : null;
  return Prisma.sql`${Prisma.raw(PREPARED)}
    SELECT ${SESSION_COLUMNS}, m.id AS "membershipId", m.role::text AS role, m.role_id AS "roleId",
           m.is_active AS "isActive", r.permissions
    FROM auth_sessions s JOIN users u ON u.id = s.user_id
    LEFT JOIN org_memberships m ON m.org_id = ${orgId}::uuid AND m.user_id = s.user_id AND m.status = 'accepted'
    LEFT JOIN org_roles r ON r.id = m.role_id
    WHERE s.id = ${sessionId}::uuid`;
}

/** Check 1: the bearer token of an Authorization header, or null when there is none. */
export function bearerToken(authorization: string | null | undefined): string | null {
  if (!authorization) return null;
  const match = /^Bearer[ \t]+(\S.*)$/i.exec(authorization.trim());
  return match?.[1]?.trim() || null;
}

/**
 * Checks 3 to 5 for a machine identity's token: its server-side token is live (not revoked,
 * within its TTL since login or renewal, uses left), the address is trusted, and the identity
 * still holds its membership. Each accepted request uses one of the token's uses.
 */
async function resolveIdentity(
  prisma: Db,
  claims: IdentityAccessTokenClaims,
  ip: string | null,
): Promise<IdentityCaller> {
  const identity = await prisma.identity.findUnique({
    where: { id: claims.identityId },
    select: {
      name: true,
      orgId: true,
      universalAuth: { select: { accessTokenTrustedIps: true } },
      membership: { select: { id: true, role: true, roleId: true, customRole: { select: { permissions: true } } } },
    },
  });
  if (!identity) throw new StaleSessionError();
  if (!ipAllowed(ip, identity.universalAuth?.accessTokenTrustedIps ?? [])) throw new ForbiddenError(IP_NOT_ALLOWED);
  // One statement checks and counts the use, so concurrent requests cannot overspend a limit.
  const used = await prisma.$executeRaw`
    UPDATE identity_access_tokens SET num_uses = num_uses + 1, last_used_at = now()
    WHERE id = ${claims.identityAccessTokenId}::uuid AND identity_id = ${claims.identityId}::uuid AND NOT is_revoked
      AND (num_uses_limit = 0 OR num_uses < num_uses_limit)
      AND coalesce(last_renewed_at, created_at) + make_interval(secs => ttl) > now()`;
  if (used !== 1) throw new StaleSessionError();
  if (!identity.membership) throw new ForbiddenError("Identity not member of organization");
  const role = fromDbRole(identity.membership.role);
  return {
    kind: "identity",
    identityId: claims.identityId,
    identityName: identity.name,
    tokenId: claims.identityAccessTokenId,
    organizationId: identity.orgId,
    membership: { id: identity.membership.id, role, roleId: identity.membership.roleId },
    rules: rulesForRole(role, identity.membership.customRole?.permissions),
  };
}

/** Checks 1 to 5 for a bearer access token, a user's or a machine identity's. */
export async function verifyBearer(
  prisma: Db,
  authorization: string | null | undefined,
  secret: string,
  origin: { ip?: string | null } = {},
): Promise<Caller> {
  const token = bearerToken(authorization);
  if (!token) throw new UnauthorizedError("Token missing");
  const verified = await verifyTokenSignature(token, secret);
  if (verified.kind === "identity") return resolveIdentity(prisma, verified.claims, origin.ip ?? null);
  const claims = verified.claims;
  const session = { userId: claims.userId, sessionId: claims.tokenVersionId, accessVersion: claims.accessVersion };
  if (!claims.organizationId) {
    // Check 3 still comes first: a stale session is a 401 StaleSession, not check 4's answer.
    await resolveSession(prisma, session);
    throw new NoOrganizationError();
  }
  return resolveSessionMember(prisma, session, claims.organizationId);
}
