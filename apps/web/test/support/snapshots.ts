// The rows a bulk delete touches, before and after: the contract's shape of a membership computed
// independently of the service's mapper, a snapshot of every table a removal may change, and a
// probe that an error left everything as it was.
import type { Db } from "@roster/db";

export const MEMBERSHIP_KEYS = [
  "createdAt",
  "id",
  "inviteEmail",
  "isActive",
  "lastInvitedAt",
  "lastLoginAuthMethod",
  "lastLoginTime",
  "orgId",
  "projectFavorites",
  "role",
  "roleId",
  "status",
  "updatedAt",
  "userId",
] as const;

/** Every column of a membership the contract returns, with its user: what tests compare answers with. */
export const membershipWithUserSelect = {
  id: true,
  role: true,
  status: true,
  inviteEmail: true,
  createdAt: true,
  updatedAt: true,
  userId: true,
  orgId: true,
  roleId: true,
  projectFavorites: true,
  isActive: true,
  lastInvitedAt: true,
  lastLoginAuthMethod: true,
  lastLoginTime: true,
  user: { select: { id: true, email: true, username: true, firstName: true, lastName: true } },
} as const;

async function membershipRows(db: Db) {
  return db.orgMembership.findMany({ select: membershipWithUserSelect });
}
export type MembershipSnapshot = Awaited<ReturnType<typeof membershipRows>>[number];

const iso = (d: Date | null) => (d === null ? null : d.toISOString());

/**
 * The contract's 14 keys for a membership row. A deliberate mirror of the service's mapper
 * (packages/api/src/services/membership-dto.ts): computed here independently, so a wrong mapper fails.
 */
export function expectedMembership(row: MembershipSnapshot): Record<string, unknown> {
  return {
    id: row.id,
    role: row.role === "no_access" ? "no-access" : row.role,
    status: row.status,
    inviteEmail: row.inviteEmail,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
    userId: row.userId,
    orgId: row.orgId,
    roleId: row.roleId,
    projectFavorites: row.projectFavorites,
    isActive: row.isActive,
    lastInvitedAt: iso(row.lastInvitedAt),
    lastLoginAuthMethod: row.lastLoginAuthMethod,
    lastLoginTime: iso(row.lastLoginTime),
  };
}

export function expectedMembershipWithUser(row: MembershipSnapshot): Record<string, unknown> {
  return { ...expectedMembership(row), user: row.user };
}

export interface DbState {
  memberships: Map<string, MembershipSnapshot>;
  projectMemberships: Map<string, { userId: string; projectId: string; orgId: string; updatedAt: string }>;
  /** project_membership_roles: id -> its project membership id */
  projectMembershipRoles: Map<string, string>;
  users: Map<string, string>;
  auditEventIds: Set<string>;
  /** Machine identities' memberships (never a bulk delete's target). */
  identityMemberships: Set<string>;
}

export async function dbState(db: Db): Promise<DbState> {
  const [memberships, pms, roles, users, audit, identityMemberships] = await Promise.all([
    membershipRows(db),
    db.projectMembership.findMany({
      select: { id: true, userId: true, projectId: true, updatedAt: true, project: { select: { orgId: true } } },
    }),
    db.projectMembershipRole.findMany({ select: { id: true, projectMembershipId: true } }),
    db.user.findMany({ select: { id: true, email: true } }),
    db.auditEvent.findMany({ select: { id: true } }),
    db.identityOrgMembership.findMany({ select: { id: true } }),
  ]);
  return {
    memberships: new Map(memberships.map((m) => [m.id, m])),
    projectMemberships: new Map(
      pms.map((p) => [
        p.id,
        { userId: p.userId, projectId: p.projectId, orgId: p.project.orgId, updatedAt: p.updatedAt.toISOString() },
      ]),
    ),
    projectMembershipRoles: new Map(roles.map((r) => [r.id, r.projectMembershipId])),
    users: new Map(users.map((u) => [u.id, u.email])),
    auditEventIds: new Set(audit.map((a) => a.id)),
    identityMemberships: new Set(identityMemberships.map((m) => m.id)),
  };
}

/** The row counts an error must leave as they were. */
export async function rowCounts(db: Db) {
  const [orgMemberships, projectMemberships, projectMembershipRoles, auditEvents, users, identityMemberships] =
    await Promise.all([
      db.orgMembership.count(),
      db.projectMembership.count(),
      db.projectMembershipRole.count(),
      db.auditEvent.count(),
      db.user.count(),
      db.identityOrgMembership.count(),
    ]);
  return { orgMemberships, projectMemberships, projectMembershipRoles, auditEvents, users, identityMemberships };
}

/** Counts plus a digest of every membership row, so that an update would show too. */
export async function unchangedProbe(db: Db) {
  const rows = await membershipRows(db);
  const digest = rows
    .map((r) => JSON.stringify(expectedMembership(r)))
    .sort()
    .join("\n");
  return { counts: await rowCounts(db), digest };
}

/** The ids of the organization's active admins (accepted, active), sorted. */
export async function activeAdminIds(prisma: Db, orgId: string): Promise<string[]> {
  const rows = await prisma.orgMembership.findMany({
    where: { orgId, role: "admin", status: "accepted", isActive: true },
    select: { id: true },
  });
  return rows.map((r) => r.id).sort();
}
