// bulkDeleteOrgMemberships: checks 9 to 13 of the contract and the effects of a 200, in one
// transaction serialised per organization. (Checks 1 to 8 are the procedure builders' and run
// before this.) The preview runs the same plan without writing.
import {
  BulkDeleteMembershipsResponse,
  type MembershipWithUserDto,
  type OrgRole,
  type PermissionRule,
  type PreviewBulkDeleteMembershipsResponse,
} from "@roster/contract";
import { type Db, fromDbRole, type Prisma, toDbRole } from "@roster/db";
import type { Caller } from "../auth/caller";
import { type AppError, BadRequestError, ForbiddenError, NotFoundError, PermissionDeniedError } from "../errors";
import { can, privilegeBoundary, rulesForRole, rulesForSubject } from "../permissions";
import { type MembershipRow, toMembershipDto, toMembershipWithUserDto } from "./membership-dto";

export const MEMBERSHIP_DELETED_EVENT = "organization.membership.deleted";
const MAX_IDS_IN_MESSAGE = 20;

type Tx = Db | Prisma.TransactionClient;

export interface RequestOrigin {
  reqId: string;
  ip: string | null;
  userAgent: string | null;
}

type Target = MembershipRow & {
  user: MembershipWithUserDto["user"];
  customRole: { permissions: Prisma.JsonValue } | null;
};

interface TargetRow extends Omit<MembershipRow, "role"> {
  role: OrgRole;
  userEmail: string | null;
  userUsername: string | null;
  userFirstName: string | null;
  userLastName: string | null;
  rolePermissions: Prisma.JsonValue | null;
}

// The statements below take the ids as one array parameter (`= ANY($n::uuid[])`): one statement
// and one parameter whatever the number of ids, where an IN list would need one parameter each.

/** The memberships of the organization among `ids`, with their users and custom roles. */
async function fetchMemberships(tx: Tx, orgId: string, ids: string[]): Promise<Target[]> {
  const rows = await tx.$queryRaw<TargetRow[]>`
    SELECT m.id, m.role::text AS role, m.status::text AS status, m.invite_email AS "inviteEmail",
           m.created_at AS "createdAt", m.updated_at AS "updatedAt", m.user_id AS "userId", m.org_id AS "orgId",
           m.role_id AS "roleId", coalesce(m.project_favorites, '{}') AS "projectFavorites", m.is_active AS "isActive",
           m.last_invited_at AS "lastInvitedAt", m.last_login_auth_method AS "lastLoginAuthMethod",
           m.last_login_time AS "lastLoginTime",
           u.email AS "userEmail", u.username AS "userUsername", u.first_name AS "userFirstName",
           u.last_name AS "userLastName", r.permissions AS "rolePermissions"
    FROM org_memberships m
    LEFT JOIN users u ON u.id = m.user_id
    LEFT JOIN org_roles r ON r.id = m.role_id
    WHERE m.org_id = ${orgId}::uuid AND m.id = ANY(${ids}::uuid[])`;
  return rows.map(({ userEmail, userUsername, userFirstName, userLastName, rolePermissions, ...m }) => ({
    ...m,
    role: toDbRole(m.role),
    user:
      m.userId && userEmail && userUsername
        ? { id: m.userId, email: userEmail, username: userUsername, firstName: userFirstName, lastName: userLastName }
        : null,
    customRole: m.roleId ? { permissions: rolePermissions } : null,
  }));
}

const userIdsOf = (targets: Target[]) => targets.flatMap((t) => (t.userId ? [t.userId] : []));

interface Plan {
  /** The memberships found, in the order their ids were first given. */
  targets: Target[];
  /** The first failing check, if any. */
  blocker: AppError | null;
}

/** The ids once each, in the order first given. */
export function uniqueIds(ids: readonly string[]): string[] {
  return [...new Set(ids)];
}

export function notFoundMessage(orgId: string, missing: readonly string[]): string {
  const shown = missing.slice(0, MAX_IDS_IN_MESSAGE).join(", ");
  const more = missing.length > MAX_IDS_IN_MESSAGE ? ` and ${missing.length - MAX_IDS_IN_MESSAGE} more` : "";
  return `Memberships not found in organization ${orgId}: ${shown}${more}`;
}

function isActiveAdmin(m: Pick<MembershipRow, "role" | "status" | "isActive">): boolean {
  return m.role === "admin" && m.status === "accepted" && m.isActive;
}

function permissionDenied(rules: PermissionRule[]): PermissionDeniedError {
  return new PermissionDeniedError("You are not allowed to delete on member", rulesForSubject(rules, "member"));
}

/**
 * The caller's own membership as it is now (check 5 again, under the lock): a caller removed or
 * demoted by a request that committed first must not act on what its token said a moment ago.
 */
async function currentCallerRules(
  tx: Tx,
  caller: Caller,
  rows: Target[],
): Promise<{ rules: PermissionRule[] } | { blocker: ForbiddenError }> {
  if (caller.kind === "user") {
    const own = rows.find((r) => r.id === caller.membership.id);
    if (own?.status !== "accepted") return { blocker: new ForbiddenError("User not member of organization") };
    if (!own.isActive) return { blocker: new ForbiddenError("User organization membership is inactive") };
    return { rules: rulesForRole(fromDbRole(own.role), own.customRole?.permissions) };
  }
  const own = await tx.identityOrgMembership.findFirst({
    where: { id: caller.membership.id, orgId: caller.organizationId },
    select: { role: true, customRole: { select: { permissions: true } } },
  });
  if (!own) return { blocker: new ForbiddenError("Identity not member of organization") };
  return { rules: rulesForRole(fromDbRole(own.role), own.customRole?.permissions) };
}

/** Checks 9 to 13 against the current rows. Reads only; the caller decides about locking. */
async function plan(tx: Tx, caller: Caller, ids: string[]): Promise<Plan> {
  const orgId = caller.organizationId;
  if (ids.length === 0) {
    return { targets: [], blocker: can(caller.rules, "delete", "member") ? null : permissionDenied(caller.rules) };
  }
  // The targets and, for a user, the caller's own row, in one query. Only user memberships of
  // this organization can be targets (a machine identity's membership lives elsewhere).
  const ownId = caller.kind === "user" ? [caller.membership.id] : [];
  const rows = await fetchMemberships(tx, orgId, [...ids, ...ownId]);
  const current = await currentCallerRules(tx, caller, rows);
  if ("blocker" in current) return { targets: [], blocker: current.blocker };
  const { rules } = current;
  if (!can(rules, "delete", "member")) return { targets: [], blocker: permissionDenied(rules) };
  // Check 10 is about a user's own membership; a machine identity's lives apart from user
  // memberships, so its id is no target at all and answers check 11's 404 below.
  if (caller.kind === "user" && ids.includes(caller.membership.id)) {
    return { targets: [], blocker: new BadRequestError("You cannot delete your own organization membership") };
  }

  const byId = new Map(rows.map((r) => [r.id, r]));
  const targets = ids.flatMap((id) => byId.get(id) ?? []);
  const missing = ids.filter((id) => !byId.has(id));
  if (missing.length > 0) return { targets, blocker: new NotFoundError(notFoundMessage(orgId, missing)) };

  for (const t of targets) {
    const targetRules = rulesForRole(fromDbRole(t.role), t.customRole?.permissions);
    const beyond = privilegeBoundary(rules, targetRules, { kind: "member", membershipId: t.id });
    if (beyond) return { targets, blocker: beyond };
  }

  // Check 13: removing an active admin must leave at least one behind. (An organization that
  // already has none is not made worse by removing non-admins.)
  if (targets.some(isActiveAdmin)) {
    const [row] = await tx.$queryRaw<{ n: number }[]>`
      SELECT count(*)::int AS n FROM org_memberships
      WHERE org_id = ${orgId}::uuid AND role = 'admin' AND status = 'accepted' AND is_active
        AND NOT (id = ANY(${ids}::uuid[]))`;
    const remaining = row?.n ?? 0;
    if (remaining === 0) {
      return {
        targets,
        blocker: new BadRequestError(
          "This action would leave the organization with no admin. Promote another user to admin first.",
        ),
      };
    }
  }
  return { targets, blocker: null };
}

/** The project memberships that go with the removed users: theirs, in this organization's projects only. */
async function countProjectMemberships(tx: Tx, orgId: string, targets: Target[]): Promise<number> {
  const [row] = await tx.$queryRaw<{ n: number }[]>`
    SELECT count(*)::int AS n FROM project_memberships pm JOIN projects p ON p.id = pm.project_id
    WHERE p.org_id = ${orgId}::uuid AND pm.user_id = ANY(${userIdsOf(targets)}::uuid[])`;
  return row?.n ?? 0;
}

/** Deletes the memberships (checks 9 to 13 first); returns them in the order first given. */
export async function bulkDeleteMemberships(
  prisma: Db,
  caller: Caller,
  membershipIds: readonly string[],
  origin: RequestOrigin,
) {
  const ids = uniqueIds(membershipIds);
  const orgId = caller.organizationId;
  if (ids.length === 0) {
    const { blocker } = await plan(prisma, caller, ids);
    if (blocker) throw blocker;
    return { memberships: [] };
  }
  return prisma.$transaction(
    async (tx) => {
      // Serialise removals per organization, so two requests can never both pass check 13.
      // NO KEY UPDATE: it conflicts with itself but not with the key-share locks of foreign keys.
      await tx.$executeRaw`SELECT 1 FROM organizations WHERE id = ${orgId}::uuid FOR NO KEY UPDATE`;
      const { targets, blocker } = await plan(tx, caller, ids);
      if (blocker) throw blocker;

      const userIds = userIdsOf(targets);
      if (userIds.length > 0) {
        // Their role rows go by ON DELETE CASCADE.
        await tx.$executeRaw`
          DELETE FROM project_memberships pm USING projects p
          WHERE pm.project_id = p.id AND p.org_id = ${orgId}::uuid AND pm.user_id = ANY(${userIds}::uuid[])`;
      }
      await tx.$executeRaw`DELETE FROM org_memberships WHERE org_id = ${orgId}::uuid AND id = ANY(${ids}::uuid[])`;
      // One audit event per membership, in one statement: the per-row values travel as arrays.
      const metadata = targets.map((t) =>
        JSON.stringify({
          userId: t.userId,
          email: t.user?.email ?? t.inviteEmail,
          role: fromDbRole(t.role),
          status: t.status,
        }),
      );
      await tx.$executeRaw`
        INSERT INTO audit_events (org_id, actor_type, actor_id, actor_identity_id, event_type, target_type,
                                  target_id, batch_id, ip, user_agent, metadata)
        SELECT ${orgId}::uuid, ${caller.kind}, ${caller.kind === "user" ? caller.userId : null}::uuid,
               ${caller.kind === "identity" ? caller.identityId : null}::uuid, ${MEMBERSHIP_DELETED_EVENT},
               'org_membership', t.target_id, ${origin.reqId}, ${origin.ip}, ${origin.userAgent?.slice(0, 512) ?? null},
               t.metadata
        FROM unnest(${targets.map((t) => t.id)}::text[], ${metadata}::jsonb[]) AS t(target_id, metadata)`;
      // Checked against the response schema before the commit: a response that could not be sent
      // rolls the removal back, instead of a 500 for a removal that happened (and a 404 on retry).
      return BulkDeleteMembershipsResponse.parse({ memberships: targets.map(toMembershipDto) });
    },
    { maxWait: 10_000, timeout: 60_000 },
  );
}

/** What bulkDeleteMemberships would do now, without writing. */
export async function previewBulkDeleteMemberships(
  prisma: Db,
  caller: Caller,
  membershipIds: readonly string[],
): Promise<PreviewBulkDeleteMembershipsResponse> {
  const ids = uniqueIds(membershipIds);
  const { targets, blocker } = await plan(prisma, caller, ids);
  const projectMembershipCount = targets.length
    ? await countProjectMemberships(prisma, caller.organizationId, targets)
    : 0;
  return {
    memberships: targets.map(toMembershipWithUserDto),
    projectMembershipCount,
    blocker: blocker && {
      statusCode: blocker.status,
      error: blocker.errorName,
      message: blocker.message,
      ...(blocker.details !== undefined ? { details: blocker.details } : {}),
    },
  };
}
