// bulkDeleteOrgMemberships: checks 9 to 13 of the contract and the effects of a 200. (Checks 1
// to 8 are the procedure builders' and run before this.) The preview runs the same judgement
// without locking or writing.
//
// The rules are judged in TypeScript, in one place (`judge`, and check 13's count in `plan`), on
// rows read under locks. Locking, the least the invariants need:
// - the rows a request deletes (FOR UPDATE) and the caller's own membership (FOR SHARE: a
//   concurrent removal or demotion of the caller waits, two requests by one caller do not), all
//   in one statement, in ascending id order, so two requests never wait for each other in a cycle;
// - the organization's row (FOR NO KEY UPDATE) only when an active admin is among the targets,
//   taken after the row locks, so removals of admins are serialised and check 13 counts what the
//   previous one committed. Removals of non-admins cannot change that count and run concurrently.
//
// Two ways to run it, with the same locks and the same effects:
// - One statement (the common case: a user with a built-in role removing members none of whom is
//   an active admin or holds a custom role, no Idempotency-Key). Before sending it, `fastGuard`
//   asks `judge` which target roles the caller's role may remove; the statement locks the rows,
//   writes only if they are what that answer assumed (every id found, the caller's row unchanged,
//   no target an active admin, every target's role among those), and returns the rows it locked.
//   Nothing written: `judge` reads those rows for the refusal, or hands over to the transaction
//   (an active admin needs check 13's count). A round trip and a commit, instead of four.
// - A transaction: BEGIN, the locking read, [the organization lock, the admin count], one
//   statement that writes everything, COMMIT.
// The writing part is the same SQL in both (`effects`): it also keeps the snapshot a restore puts
// back (membership-snapshots.ts) and purges a bounded number of expired snapshots.

import { getConfig } from "@roster/config";
import type {
  BulkDeleteMembershipsResponse,
  PermissionRule,
  PreviewBulkDeleteMembershipsResponse,
} from "@roster/contract";
import { type Db, PREPARED, Prisma, queryRows } from "@roster/db";
import type { Caller } from "../auth/caller";
import { type AppError, BadRequestError, NotFoundError, PermissionDeniedError } from "../errors";
import { getLogger } from "../logger";
import { metrics } from "../metrics";
import { BUILT_IN_ROLE_RULES, can, privilegeBoundary, rulesForRole, rulesForSubject } from "../permissions";
import { auditInsert } from "./audit-events";
import { readCallerRules, userRulesFrom } from "./current-caller";
import { type IdempotentRequest, idempotentTransaction } from "./idempotency";
import {
  type Jsonified,
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

/** What the rules look at in a row: a Target, or a row of the same columns still in its JSON form. */
type Judged = Pick<Target, "id" | "role" | "status" | "isActive" | "customRole">;

// The statements below take the ids as one array parameter: one statement and one parameter
// whatever the number of ids, where an IN list would need one parameter each. How each looks the
// ids up is chosen by EXPLAIN at 100,000 members (docs/performance.md): a constant `id = ANY($n)`
// of 1000 ids and a join with `unnest($n)` both let the planner scan or hash the whole table.

const TARGET_COLUMNS = Prisma.sql`${MEMBERSHIP_COLUMNS}, ${USER_COLUMNS}, r.permissions AS "rolePermissions"`;

/**
 * The memberships of the organization among `ids` and the caller's own (`ownId`, a user's), with
 * their users and custom roles. With `lock`, the targets are locked FOR UPDATE and the caller's
 * row FOR SHARE, in ascending id order (each part in order, the parts run in turn by the Append
 * node): a row deleted by a request that committed first is simply not returned, a row changed
 * by one is returned as it is now. (Exported for the EXPLAIN bench.)
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
  // Each part probes the primary key once per id, in ascending id order, locking as it goes (a
  // LATERAL subquery with a locking clause runs once per outer row, in the outer order): a join of
  // 1000 ids with the table let the planner hash the organization's rows instead (20 to 66 ms
  // against 4.5 to 5 ms at 100,000 members; docs/performance.md).
  return Prisma.sql`
    SELECT ${TARGET_COLUMNS}
    FROM (
      SELECT t.* FROM (SELECT id FROM unnest(${ids}::uuid[]) AS k(id)
                       WHERE ${ownId}::uuid IS NULL OR id < ${ownId}::uuid ORDER BY id) k
      CROSS JOIN LATERAL (SELECT * FROM org_memberships t WHERE t.id = k.id AND t.org_id = ${orgId}::uuid
                          FOR UPDATE) t
      UNION ALL
      SELECT * FROM (SELECT * FROM org_memberships WHERE org_id = ${orgId}::uuid AND id = ${ownId}::uuid FOR SHARE) own
      UNION ALL
      SELECT t.* FROM (SELECT id FROM unnest(${ids}::uuid[]) AS k(id) WHERE id > ${ownId}::uuid ORDER BY id) k
      CROSS JOIN LATERAL (SELECT * FROM org_memberships t WHERE t.id = k.id AND t.org_id = ${orgId}::uuid
                          FOR UPDATE) t
    ) m
    LEFT JOIN users u ON u.id = m.user_id
    LEFT JOIN org_roles r ON r.id = m.role_id`;
}

export function toTargets<R extends Pick<TargetRow, "roleId" | "rolePermissions">>(
  rows: R[],
): (R & Pick<Target, "customRole">)[] {
  return rows.map((row) => ({ ...row, customRole: row.roleId ? { permissions: row.rolePermissions } : null }));
}

const userIdsOf = (targets: Target[]) => targets.flatMap((t) => (t.userId ? [t.userId] : []));

interface Plan<T extends Judged = Target> {
  /** The memberships found, in the order their ids were first given. */
  targets: T[];
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

const LAST_ADMIN = "This action would leave the organization with no admin. Promote another user to admin first.";

interface Judgement<T extends Judged> extends Plan<T> {
  /** No check failed on the rows, but an active admin is among the targets: check 13 must count. */
  needsAdminCount: boolean;
}

/**
 * Checks 5 (again), 9, 10, 11 and 12 on the rows as read (under the locks when removing), in the
 * contract's order. `own` is the caller's own membership now: for a user it came with the targets
 * (undefined: gone), an identity's is read apart (see plan).
 */
function judge<T extends Judged>(
  caller: Caller,
  ids: string[],
  rows: T[],
  ownRules: { rules: PermissionRule[] } | { blocker: AppError },
): Judgement<T> {
  const none = (blocker: AppError): Judgement<T> => ({ targets: [], blocker, needsAdminCount: false });
  if ("blocker" in ownRules) return none(ownRules.blocker);
  const { rules } = ownRules;
  if (!can(rules, "delete", "member")) return none(permissionDenied(rules));
  // Check 10 is about a user's own membership; a machine identity's lives apart from user
  // memberships, so its id is no target at all and answers check 11's 404 below.
  if (caller.kind === "user" && ids.includes(caller.membership.id)) {
    return none(new BadRequestError("You cannot delete your own organization membership"));
  }
  const byId = new Map(rows.map((r) => [r.id, r]));
  const targets = ids.flatMap((id) => byId.get(id) ?? []);
  const missing = ids.filter((id) => !byId.has(id));
  if (missing.length > 0) {
    return {
      targets,
      blocker: new NotFoundError(notFoundMessage(caller.organizationId, missing)),
      needsAdminCount: false,
    };
  }
  // Check 12 once per built-in role (a thousand targets hold a few roles), per target for a custom one.
  const cleared = new Set<string>();
  for (const t of targets) {
    if (!t.customRole && cleared.has(t.role)) continue;
    const beyond = beyondCallersRules(rules, t);
    if (beyond) return { targets, blocker: beyond, needsAdminCount: false };
    if (!t.customRole) cleared.add(t.role);
  }
  return { targets, blocker: null, needsAdminCount: targets.some(isActiveAdmin) };
}

/** Check 12 for one target: the caller's rules must cover the target's. */
function beyondCallersRules(rules: PermissionRule[], t: Pick<Target, "id" | "role" | "customRole">) {
  return privilegeBoundary(rules, rulesForRole(t.role, t.customRole?.permissions), {
    kind: "member",
    membershipId: t.id,
  });
}

/** A user's own membership among the rows read (check 5 again; current-caller.ts). */
function ownRulesIn(caller: Caller & { kind: "user" }, rows: Judged[]) {
  const own = rows.find((r) => r.id === caller.membership.id);
  return userRulesFrom(own && { ...own, permissions: own.customRole?.permissions });
}

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
  const own = caller.kind === "user" ? ownRulesIn(caller, rows) : await readCallerRules(tx, caller, lock);
  const { targets, blocker, needsAdminCount } = judge(caller, ids, rows, own);
  if (blocker || !needsAdminCount) return { targets, blocker };

  // Check 13: removing an active admin must leave at least one behind. (An organization that
  // already has none is not made worse by removing non-admins, so those need no count and no
  // organization lock.) The count is its own statement, after the lock: in READ COMMITTED each
  // statement sees what committed before it started, so it sees the previous holder's removals.
  // NO KEY UPDATE: it conflicts with itself but not with the key-share locks of foreign keys.
  if (lock) await tx.$executeRaw`SELECT 1 FROM organizations WHERE id = ${orgId}::uuid FOR NO KEY UPDATE`;
  const [row] = await tx.$queryRaw<{ n: number }[]>`
    SELECT count(*)::int AS n FROM org_memberships
    WHERE org_id = ${orgId}::uuid AND role = 'admin' AND status = 'accepted' AND is_active
      AND NOT (id = ANY(${ids}::uuid[]))`;
  if ((row?.n ?? 0) === 0) return { targets, blocker: new BadRequestError(LAST_ADMIN) };
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
 * The effects of a 200, as the parts of one statement after a part named `doomed` (the rows to
 * delete: `id`, `user_id`, and `metadata` for the audit event): the organization memberships, the
 * removed users' project memberships in this organization's projects (their role rows go by ON
 * DELETE CASCADE), one audit event per membership, and the snapshot of what went (kept
 * `windowDays`; none with 0), with expired snapshots purged. Every row it deletes is locked before
 * (by the transaction's locking read or by the statement's own), so it deletes exactly the doomed
 * rows. A doomed part with no rows writes nothing at all. The deletes look their rows up by
 * `= ANY(ARRAY(...))`, which the planner probes the index with, where a join with the doomed rows
 * made it hash the organization's whole membership table.
 */
function effects(caller: Caller, origin: RequestOrigin, windowDays: number): Prisma.Sql {
  const orgId = caller.organizationId;
  return Prisma.sql`
    removed AS (
      DELETE FROM org_memberships m
      WHERE m.id = ANY(ARRAY(SELECT id FROM doomed)) AND m.org_id = ${orgId}::uuid
      RETURNING m.*
    ), projects_left AS (
      DELETE FROM project_memberships pm USING projects p
      WHERE pm.user_id = ANY(ARRAY(SELECT user_id FROM doomed WHERE user_id IS NOT NULL))
        AND pm.project_id = p.id AND p.org_id = ${orgId}::uuid
      RETURNING pm.*
    ), snapshot AS (
      ${snapshotInsert(orgId, origin.reqId, windowDays)}
    ), purged AS (
      ${purgeExpiredSnapshots(windowDays, Prisma.sql`EXISTS (SELECT 1 FROM doomed)`)}
    ), audited AS (
      ${auditInsert(caller, origin, MEMBERSHIP_DELETED_EVENT, {
        targetId: Prisma.sql`d.id::text`,
        metadata: Prisma.sql`d.metadata`,
        from: Prisma.sql`doomed d`,
      })}
    )`;
}

/**
 * The writing statement of the transaction (one round trip), for targets judged and locked
 * already; the per-row values travel as arrays. It answers how many memberships it deleted.
 */
export function removalStatement(
  caller: Caller,
  targets: Target[],
  origin: RequestOrigin,
  windowDays: number = getConfig().restoreWindowDays,
): Prisma.Sql {
  const metadata = targets.map((t) =>
    JSON.stringify({ userId: t.userId, email: t.userEmail ?? t.inviteEmail, role: t.role, status: t.status }),
  );
  return Prisma.sql`
    WITH doomed AS (
      SELECT * FROM unnest(${targets.map((t) => t.id)}::uuid[], ${targets.map((t) => t.userId)}::uuid[],
                           ${metadata}::jsonb[]) AS d(id, user_id, metadata)
    ), ${effects(caller, origin, windowDays)}
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

/** The built-in roles. */
const BUILT_IN_ROLES = Object.keys(BUILT_IN_ROLE_RULES) as (keyof typeof BUILT_IN_ROLE_RULES)[];

/**
 * What the one-statement removal may assume, from the rules themselves: the caller's role as
 * check 5 read it, and the built-in target roles check 12 lets that role remove. Null when the
 * statement cannot stand in for the transaction: a machine identity or a custom role as caller
 * (their rules live in other rows), no right to delete members (check 9 answers), or the caller's
 * own id among the targets (check 10 answers).
 */
export function fastGuard(caller: Caller, ids: string[]): { ownRole: string; removableRoles: string[] } | null {
  if (caller.kind !== "user" || caller.membership.role === "custom" || ids.includes(caller.membership.id)) return null;
  if (!can(caller.rules, "delete", "member")) return null;
  const removableRoles = BUILT_IN_ROLES.filter(
    (role) => !beyondCallersRules(caller.rules, { id: "", role, customRole: null }),
  );
  return { ownRole: caller.membership.role, removableRoles };
}

/**
 * The removal in one statement: the locking read of membershipsStatement, a verdict on the rows
 * it locked (`guard`'s assumptions, checked on them), the effects when the verdict holds, and the
 * locked rows with how many were removed. The rows come back as one JSON array: decoding a
 * thousand rows of twenty columns one value at a time cost the client more than the statement
 * cost the database. Prepared (one text whatever the ids): planned once per connection, where
 * planning it each time cost PostgreSQL about as much as running it for one id.
 */
export function oneStatementRemoval(
  caller: Caller & { kind: "user" },
  ids: string[],
  guard: { ownRole: string; removableRoles: string[] },
  origin: RequestOrigin,
  windowDays: number = getConfig().restoreWindowDays,
): Prisma.Sql {
  const own = caller.membership.id;
  return Prisma.sql`${Prisma.raw(PREPARED)}
    WITH locked AS MATERIALIZED (
      ${membershipsStatement(caller.organizationId, ids, own, true)}
    ), verdict AS MATERIALIZED (
      SELECT (SELECT count(*) FROM locked WHERE id <> ${own}::uuid) = ${ids.length}::int
         AND EXISTS (SELECT 1 FROM locked WHERE id = ${own}::uuid AND role = ${guard.ownRole}
                     AND status = 'accepted' AND "isActive")
         AND NOT EXISTS (SELECT 1 FROM locked WHERE id <> ${own}::uuid
                         AND (role <> ALL(${guard.removableRoles}::text[])
                              OR (role = 'admin' AND status = 'accepted' AND "isActive"))) AS ok
    ), doomed AS (
      SELECT l.id, l."userId" AS user_id,
             jsonb_build_object('userId', l."userId", 'email', coalesce(l."userEmail", l."inviteEmail"),
                                'role', l.role, 'status', l.status) AS metadata
      FROM locked l
      WHERE l.id <> ${own}::uuid AND (SELECT ok FROM verdict)
    ), ${effects(caller, origin, windowDays)}
    SELECT (SELECT count(*)::int FROM removed) AS "removedCount",
           coalesce((SELECT json_agg(l) FROM locked l), '[]'::json) AS locked`;
}

/**
 * The removal as one statement (see the top of this file), or null when it must run as a
 * transaction: the statement's assumptions did not hold and `judge` finds no refusal either.
 */
async function removeInOneStatement(
  prisma: Db,
  caller: Caller,
  ids: string[],
  origin: RequestOrigin,
): Promise<BulkDeleteMembershipsResponse | null> {
  const guard = fastGuard(caller, ids);
  if (!guard || caller.kind !== "user") return null;
  const [row] = await queryRows<{ removedCount: number; locked: Jsonified<TargetRow>[] }>(
    prisma,
    oneStatementRemoval(caller, ids, guard, origin),
  );
  // Judged and answered in their JSON form: the timestamps go from PostgreSQL's text to the
  // contract's without a Date between (4000 Dates made and formatted again at 1000 ids).
  const locked = toTargets(row?.locked ?? []);
  const { targets, blocker, needsAdminCount } = judge(caller, ids, locked, ownRulesIn(caller, locked));
  const removed = row?.removedCount ?? 0;
  if (removed === 0) {
    if (blocker) throw blocker;
    return null;
  }
  // Committed. The guard is judge's own answer, so they agree; if they ever did not, say so loudly.
  if (blocker || needsAdminCount || removed !== ids.length) {
    getLogger().error(
      { reqId: origin.reqId, removed, blocker: blocker?.message, needsAdminCount },
      "one-statement removal wrote what the rules would have refused",
    );
  }
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
  const result =
    (await removeInOneStatement(prisma, caller, ids, origin)) ??
    (await prisma.$transaction((tx) => removeIn(tx, caller, ids, origin), TRANSACTION));
  // Committed: counted here, after the write, so a rolled-back removal is never counted.
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
