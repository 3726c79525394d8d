// Check 5 again, inside a mutation's transaction: the caller's own membership as it is now. A
// token is verified before the transaction starts, so a caller removed or demoted by a request
// that committed in between must not act on what its token said a moment ago. Read FOR SHARE
// under a lock: a concurrent removal or demotion of the caller waits for the mutation (and the
// mutation for it), while two mutations by one caller do not wait for each other.
import type { OrgRole, PermissionRule } from "@roster/contract";
import { type Db, Prisma } from "@roster/db";
import type { Caller } from "../auth/caller";
import { type AppError, ForbiddenError } from "../errors";
import { rulesForRole } from "../permissions";

type Tx = Db | Prisma.TransactionClient;

export type CurrentRules = { rules: PermissionRule[] } | { blocker: AppError };

/** A user's own membership row: its role and its custom role's rules. */
export interface OwnMembership {
  role: OrgRole;
  status: string;
  isActive: boolean;
  permissions: unknown;
}

/** A user caller's rules from its own row as read now (undefined: the row is gone). */
export function userRulesFrom(own: OwnMembership | undefined): CurrentRules {
  if (own?.status !== "accepted") return { blocker: new ForbiddenError("User not member of organization") };
  if (!own.isActive) return { blocker: new ForbiddenError("User organization membership is inactive") };
  return { rules: rulesForRole(own.role, own.permissions) };
}

/**
 * Reads the caller's own membership (a user's or a machine identity's), with `lock` FOR SHARE,
 * and answers its rules now, or why it may no longer act at all.
 */
export async function readCallerRules(tx: Tx, caller: Caller, lock: boolean): Promise<CurrentRules> {
  const forShare = lock ? Prisma.sql`FOR SHARE OF m` : Prisma.empty;
  if (caller.kind === "user") {
    const [own] = await tx.$queryRaw<OwnMembership[]>`
      SELECT m.role::text AS role, m.status::text AS status, m.is_active AS "isActive", r.permissions
      FROM org_memberships m LEFT JOIN org_roles r ON r.id = m.role_id
      WHERE m.id = ${caller.membership.id}::uuid AND m.org_id = ${caller.organizationId}::uuid
      ${forShare}`;
    return userRulesFrom(own);
  }
  const [own] = await tx.$queryRaw<{ role: OrgRole; permissions: unknown }[]>`
    SELECT m.role::text AS role, r.permissions FROM identity_org_memberships m LEFT JOIN org_roles r ON r.id = m.role_id
    WHERE m.id = ${caller.membership.id}::uuid AND m.org_id = ${caller.organizationId}::uuid
    ${forShare}`;
  if (!own) return { blocker: new ForbiddenError("Identity not member of organization") };
  return { rules: rulesForRole(own.role, own.permissions) };
}
