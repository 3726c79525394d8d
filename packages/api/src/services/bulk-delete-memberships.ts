// bulkDeleteOrgMemberships: checks 9 to 13 of the contract and the effects of a 200, in one
// transaction. (Checks 1 to 8 are the procedure builders' and run before this.) The preview runs
// the same plan without locking or writing.
//
// Locking, the least the invariants need:
// - the rows a request deletes (FOR UPDATE) and the caller's own membership (FOR SHARE: a
//   concurrent removal or demotion of the caller waits, two requests by one caller do not), all
//   in one statement, in ascending id order, so two requests never wait for each other in a cycle;
// - the organization's row (FOR NO KEY UPDATE) only when an active admin is among the targets,
//   taken after the row locks, so removals of admins are serialised and check 13 counts what the
//   previous one committed. Removals of non-admins cannot change that count and run concurrently.
// A transaction's round trips: BEGIN, the locking read, [the organization lock, the admin count],
// one statement that writes everything, COMMIT. That statement also keeps the snapshot a restore
// puts back (membership-snapshots.ts) and purges a bounded number of expired snapshots.

import { getConfig } from "@roster/config";
import type {
  BulkDeleteMembershipsResponse,
  PermissionRule,
  PreviewBulkDeleteMembershipsResponse,
} from "@roster/contract";
import { type Db, Prisma } from "@roster/db";
import type { Caller } from "../auth/caller";
import { type AppError, BadRequestError, NotFoundError, PermissionDeniedError } from "../errors";
import { metrics } from "../metrics";
import { can, privilegeBoundary, rulesForRole, rulesForSubject } from "../permissions";
import { auditInsert } from "./audit-events";
import { type CurrentRules, readCallerRules, userRulesFrom } from "./current-caller";
import { type IdempotentRequest, idempotentTransaction } from "./idempotency";
import {
  MEMBERSHIP_COLUMNS,
  type MembershipRow,
  toMembershipDto,
  toMembershipWithUserDto,
  USER_COLUMNS,
  type UserColumns,
} from "./membership-dto";
import { purgeExpiredSnapshots, snapshotInsert } from "./membership-snapshots";

export const MEMBERSHIP_DELETED_EVENT = "organization.membership.deleted";
const MAX_IDS_IN_MESSAGE = 20;

type Tx = Db | Prisma.TransactionClient;

export interface RequestOrigin {
  reqId: string;
  ip: string | null;
  userAgent: string | null;
}

/** A target as membershipsStatement reads it: the membership, its user and its custom role's rules. */
export interface TargetRow extends MembershipRow, UserColumns {
  rolePermissions: Prisma.JsonValue | null;
}

export type Target = TargetRow & { customRole: { permissions: Prisma.JsonValue } | null };

// The statements below take the ids as one array parameter: one statement and one parameter
// whatever the number of ids, where an IN list would need one parameter each. They join
// `unnest($n::uuid[])` rather than test `id = ANY($n)`: the join looks each id up in the primary
// key, where `= ANY` of 1000 ids made the planner scan the whole table (EXPLAIN at 100,000
// members: about 35 ms for the scan against about 3 ms for the lookups; docs/performance.md).

const TARGET_COLUMNS = Prisma.sql`${MEMBERSHIP_COLUMNS}, ${USER_COLUMNS}, r.permissions AS "rolePermissions"`;

/**
 * The memberships of the organization among `ids` and the caller's own (`ownId`, a user's), with
 * their users and custom roles. With `lock`, the targets are locked FOR UPDATE and the caller's
 * row FOR SHARE, in ascending id order (each part sorted, the parts run in turn by the Append
 * node): a row deleted by a request that committed first is simply not returned, a row changed
 * by one is returned as it is now. (Exported, with removalStatement, for the benchmark's raw-SQL
 * baseline, which sends these very statements.)
 */
export function membershipsStatement(orgId: string, ids: string[], ownId: string | null, lock: boolean): Prisma.Sql {
  if (!lock) {
    return Prisma.sql`
      SELECT ${TARGET_COLUMNS}
      FROM unnest(array_append(${ids}::uuid[], ${ownId}::uuid)) AS k(id)
      JOIN org_memberships m ON m.id = k.id
      LEFT JOIN users u ON u.id = m.user_id
      LEFT JOIN org_roles r ON r.id = m.role_id
      WHERE m.org_id = ${orgId}::uuid`;
  }
  return Prisma.sql`
    SELECT ${TARGET_COLUMNS}
    FROM (
      SELECT * FROM (SELECT t.* FROM unnest(${ids}::uuid[]) AS k(id) JOIN org_memberships t ON t.id = k.id
        WHERE t.org_id = ${orgId}::uuid AND (${ownId}::uuid IS NULL OR t.id < ${ownId}::uuid)
        ORDER BY t.id FOR UPDATE OF t) below
      UNION ALL
      SELECT * FROM (SELECT * FROM org_memberships WHERE org_id = ${orgId}::uuid AND id = ${ownId}::uuid FOR SHARE) own
      UNION ALL
      SELECT * FROM (SELECT t.* FROM unnest(${ids}::uuid[]) AS k(id) JOIN org_memberships t ON t.id = k.id
        WHERE t.org_id = ${orgId}::uuid AND t.id > ${ownId}::uuid
        ORDER BY t.id FOR UPDATE OF t) above
    ) m
    LEFT JOIN users u ON u.id = m.user_id
    LEFT JOIN org_roles r ON r.id = m.role_id`;
}

export function toTargets(rows: TargetRow[]): Target[] {
  return rows.map((row) => ({ ...row, customRole: row.roleId ? { permissions: row.rolePermissions } : null }));
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
 * The caller's own membership as it is now (check 5 again, under the lock when there is one;
 * current-caller.ts). A user's row came with the targets; an identity's is read here.
 */
async function currentCallerRules(tx: Tx, caller: Caller, rows: Target[], lock: boolean): Promise<CurrentRules> {
  if (caller.kind !== "user") return readCallerRules(tx, caller, lock);
  const own = rows.find((r) => r.id === caller.membership.id);
  return userRulesFrom(own && { ...own, permissions: own.customRole?.permissions });
}

const LAST_ADMIN = "This action would leave the organization with no admin. Promote another user to admin first.";

/**
 * Checks 9 to 13 against the current rows. With `lock` (inside the removal's transaction) the
 * rows read are locked, and the organization too before check 13 when an active admin is among
 * the targets; without it (the preview) nothing is locked.
 */
async function plan(tx: Tx, caller: Caller, ids: string[], lock: boolean): Promise<Plan> {
  const orgId = caller.organizationId;
  if (ids.length === 0) {
    return { targets: [], blocker: can(caller.rules, "delete", "member") ? null : permissionDenied(caller.rules) };
  }
  // The targets and, for a user, the caller's own row, in one query. Only user memberships of
  // this organization can be targets (a machine identity's membership lives elsewhere).
  const ownId = caller.kind === "user" ? caller.membership.id : null;
  const rows = toTargets(await tx.$queryRaw<TargetRow[]>(membershipsStatement(orgId, ids, ownId, lock)));
  const current = await currentCallerRules(tx, caller, rows, lock);
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
    const targetRules = rulesForRole(t.role, t.customRole?.permissions);
    const beyond = privilegeBoundary(rules, targetRules, { kind: "member", membershipId: t.id });
    if (beyond) return { targets, blocker: beyond };
  }

  // Check 13: removing an active admin must leave at least one behind. (An organization that
  // already has none is not made worse by removing non-admins, so those need no count and no
  // organization lock.) The count is its own statement, after the lock: in READ COMMITTED each
  // statement sees what committed before it started, so it sees the previous holder's removals.
  if (targets.some(isActiveAdmin)) {
    // NO KEY UPDATE: it conflicts with itself but not with the key-share locks of foreign keys.
    if (lock) await tx.$executeRaw`SELECT 1 FROM organizations WHERE id = ${orgId}::uuid FOR NO KEY UPDATE`;
    const [row] = await tx.$queryRaw<{ n: number }[]>`
      SELECT count(*)::int AS n FROM org_memberships
      WHERE org_id = ${orgId}::uuid AND role = 'admin' AND status = 'accepted' AND is_active
        AND NOT (id = ANY(${ids}::uuid[]))`;
    if ((row?.n ?? 0) === 0) return { targets, blocker: new BadRequestError(LAST_ADMIN) };
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

/**
 * The effects of a 200 in one statement (one round trip): the organization memberships, the
 * removed users' project memberships in this organization's projects (their role rows go by ON
 * DELETE CASCADE), one audit event per membership, the per-row values travelling as arrays, and
 * the snapshot of what went (kept `windowDays`; none with 0), with expired snapshots purged.
 * Every row it deletes was locked by the locking read, so it deletes exactly the targets; it
 * answers how many memberships it deleted.
 */
export function removalStatement(
  caller: Caller,
  targets: Target[],
  origin: RequestOrigin,
  windowDays: number = getConfig().restoreWindowDays,
): Prisma.Sql {
  const orgId = caller.organizationId;
  const metadata = targets.map((t) =>
    JSON.stringify({
      userId: t.userId,
      email: t.userEmail ?? t.inviteEmail,
      role: t.role,
      status: t.status,
    }),
  );
  return Prisma.sql`
    WITH removed AS (
      DELETE FROM org_memberships m USING unnest(${targets.map((t) => t.id)}::uuid[]) AS k(id)
      WHERE m.id = k.id AND m.org_id = ${orgId}::uuid
      RETURNING m.*
    ), projects_left AS (
      DELETE FROM project_memberships pm USING unnest(${userIdsOf(targets)}::uuid[]) AS k(id), projects p
      WHERE pm.user_id = k.id AND pm.project_id = p.id AND p.org_id = ${orgId}::uuid
      RETURNING pm.*
    ), snapshot AS (
      ${snapshotInsert(orgId, origin.reqId, windowDays)}
    ), purged AS (
      ${purgeExpiredSnapshots(windowDays)}
    ), audited AS (
      ${auditInsert(caller, origin, MEMBERSHIP_DELETED_EVENT, {
        targetId: Prisma.sql`t.target_id`,
        metadata: Prisma.sql`t.metadata`,
        from: Prisma.sql`unnest(${targets.map((t) => t.id)}::text[], ${metadata}::jsonb[]) AS t(target_id, metadata)`,
      })}
    )
    SELECT count(*)::int AS n FROM removed`;
}

/** The removal inside `tx`: checks 9 to 13 under the locks, then the writing statement. */
async function removeIn(tx: Tx, caller: Caller, ids: string[], origin: RequestOrigin) {
  // No ids: nothing to lock, only the permission to check.
  const { targets, blocker } = await plan(tx, caller, ids, ids.length > 0);
  if (blocker) throw blocker;
  if (targets.length === 0) return { memberships: [] };
  const [row] = await tx.$queryRaw<{ n: number }[]>(removalStatement(caller, targets, origin));
  const removed = row?.n ?? 0;
  // Cannot differ while the rows are locked; if it ever did, nothing must be committed.
  if (removed !== targets.length) throw new Error(`removed ${removed} of ${targets.length} locked memberships`);
  return { memberships: targets.map(toMembershipDto) };
}

const TRANSACTION = { maxWait: 10_000, timeout: 60_000 };

/**
 * Deletes the memberships (checks 9 to 13 first); returns them in the order first given. With an
 * Idempotency-Key, the key's answer is stored in the removal's transaction, and a retry gets it
 * again without removing anything (services/idempotency.ts).
 */
export async function bulkDeleteMemberships(
  prisma: Db,
  caller: Caller,
  membershipIds: readonly string[],
  origin: RequestOrigin,
  idempotency: IdempotentRequest | null = null,
): Promise<BulkDeleteMembershipsResponse> {
  const ids = uniqueIds(membershipIds);
  if (idempotency) {
    const { value, replayed } = await idempotentTransaction(
      prisma,
      idempotency,
      (tx) => removeIn(tx, caller, ids, origin),
      TRANSACTION,
    );
    if (!replayed) metrics().membershipsRemoved.inc(value.memberships.length);
    return value;
  }
  if (ids.length === 0) {
    const { blocker } = await plan(prisma, caller, ids, false);
    if (blocker) throw blocker;
    return { memberships: [] };
  }
  const result = await prisma.$transaction((tx) => removeIn(tx, caller, ids, origin), TRANSACTION);
  // Committed: counted here, after the transaction, so a rolled-back removal is never counted.
  metrics().membershipsRemoved.inc(result.memberships.length);
  return result;
}

/** What bulkDeleteMemberships would do now, without writing. */
export async function previewBulkDeleteMemberships(
  prisma: Db,
  caller: Caller,
  membershipIds: readonly string[],
): Promise<PreviewBulkDeleteMembershipsResponse> {
  const ids = uniqueIds(membershipIds);
  const { targets, blocker } = await plan(prisma, caller, ids, false);
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
