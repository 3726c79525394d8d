// bulkDeleteOrgMemberships: checks 9 to 13 of the contract and the effects of a 200, in one
// transaction serialised per organization. (Checks 1 to 8 are the procedure builders' and run
// before this.) The preview runs the same plan without writing.
import type { MembershipWithUserDto, PermissionRule, PreviewBulkDeleteMembershipsResponse } from "@roster/contract";
import { type Db, fromDbRole, type Prisma } from "@roster/db";
import type { Caller } from "../auth/caller";
import {
  type AppError,
  BadRequestError,
  ForbiddenError,
  NotFoundError,
  PermissionBoundaryError,
  PermissionDeniedError,
} from "../errors";
import { can, covers, rulesForRole, rulesForSubject } from "../permissions";
import {
  type MembershipRow,
  membershipSelect,
  membershipUserSelect,
  toMembershipDto,
  toMembershipWithUserDto,
} from "./membership-dto";

export const MEMBERSHIP_DELETED_EVENT = "organization.membership.deleted";
const MAX_IDS_IN_MESSAGE = 20;

type Tx = Db | Prisma.TransactionClient;

export interface RequestOrigin {
  reqId: string;
  ip: string | null;
  userAgent: string | null;
}

const targetSelect = {
  ...membershipSelect,
  user: { select: membershipUserSelect },
  customRole: { select: { permissions: true } },
} as const;

type Target = MembershipRow & {
  user: MembershipWithUserDto["user"];
  customRole: { permissions: Prisma.JsonValue } | null;
};

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
  const rows: Target[] = await tx.orgMembership.findMany({
    where: { orgId, id: { in: [...ids, ...ownId] } },
    select: targetSelect,
  });
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

  const targetRules = (t: Target): PermissionRule[] => rulesForRole(fromDbRole(t.role), t.customRole?.permissions);
  const beyond = targets.find((t) => !covers(rules, targetRules(t)));
  if (beyond) {
    return {
      targets,
      blocker: new PermissionBoundaryError(
        `Failed to remove member ${beyond.id} from the organization: your privileges do not cover theirs`,
      ),
    };
  }

  // Check 13: removing an active admin must leave at least one behind. (An organization that
  // already has none is not made worse by removing non-admins.)
  if (targets.some(isActiveAdmin)) {
    const remaining = await tx.orgMembership.count({
      where: { orgId, role: "admin", status: "accepted", isActive: true, id: { notIn: ids } },
    });
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
function projectMembershipsOf(orgId: string, targets: Target[]): Prisma.ProjectMembershipWhereInput {
  const userIds = targets.flatMap((t) => (t.userId ? [t.userId] : []));
  return { userId: { in: userIds }, project: { orgId } };
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

      const userIds = targets.flatMap((t) => (t.userId ? [t.userId] : []));
      if (userIds.length > 0) {
        // Their role rows go by ON DELETE CASCADE.
        await tx.projectMembership.deleteMany({ where: projectMembershipsOf(orgId, targets) });
      }
      await tx.orgMembership.deleteMany({ where: { orgId, id: { in: ids } } });
      await tx.auditEvent.createMany({
        data: targets.map((t) => ({
          orgId,
          actorType: caller.kind,
          actorId: caller.kind === "user" ? caller.userId : null,
          actorIdentityId: caller.kind === "identity" ? caller.identityId : null,
          eventType: MEMBERSHIP_DELETED_EVENT,
          targetType: "org_membership",
          targetId: t.id,
          batchId: origin.reqId,
          ip: origin.ip,
          userAgent: origin.userAgent?.slice(0, 512) ?? null,
          metadata: {
            userId: t.userId,
            email: t.user?.email ?? t.inviteEmail,
            role: fromDbRole(t.role),
            status: t.status,
          },
        })),
      });
      return { memberships: targets.map(toMembershipDto) };
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
    ? await prisma.projectMembership.count({ where: projectMembershipsOf(caller.organizationId, targets) })
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
