// Undo of a removal. Every removal keeps, in its one writing statement, a snapshot of each
// membership it deletes: the org_memberships row as to_jsonb wrote it, and the project
// memberships removed with it, each with its project_membership_roles rows. A restore puts those
// rows back with jsonb_populate_record (same ids, same values; `updated_at` becomes now) in one
// statement, all or nothing unless `skipConflicts`.
//
// Snapshots are kept RESTORE_WINDOW_DAYS (0 keeps none). Expired ones are purged opportunistically:
// each removal and each restore deletes at most PURGE_LIMIT of them in its writing statement
// (SKIP LOCKED, so it never waits on a restore holding one). A batch whose snapshots are gone but
// whose removal is in the audit log answers 409 `expired`, not 404.
//
// Locking, in the order a removal takes its locks (rows, then the organization), so the two never
// wait for each other in a cycle: the caller's own membership FOR SHARE, read again as it is now
// (current-caller.ts: a caller removed or demoted by a request that committed first is refused);
// the organization's row (FOR NO KEY UPDATE), as a removal of an admin does before its last-admin
// count, so the two are serialised and neither counts admins the other is about to change; then
// the batch's snapshot rows (FOR UPDATE), so two restores of one batch run one after the other
// and the second sees `alreadyRestored`.
// A restore's round trips: BEGIN, the caller's row, the organization lock, the locking read, one
// statement that writes everything, COMMIT.
//
// What the locking read cannot see is a row another transaction inserted and has not committed
// (the user added again, say): the restore's insert then waits for it and, once it commits, hits
// the unique index. That is a conflict, not a fault: the restore runs once more, now seeing the
// row, and answers 409 listing it (or skips it), never 500.

import { getConfig } from "@roster/config";
import type {
  PermissionRule,
  PreviewRestoreMembershipsResponse,
  RestoreConflict,
  RestoreMembershipsResponse,
} from "@roster/contract";
import { type Db, Prisma } from "@roster/db";
import type { Caller } from "../auth/caller";
import { ConflictError, isConstraintViolation, NotFoundError, PermissionDeniedError } from "../errors";
import { can, privilegeBoundary, rulesForRole, rulesForSubject } from "../permissions";
import { auditInsert } from "./audit-events";
import type { RequestOrigin } from "./bulk-delete-memberships";
import { type CurrentRules, readCallerRules } from "./current-caller";
import { type IdempotentRequest, idempotentTransaction } from "./idempotency";
import { fromJsonRow, type Jsonified, MEMBERSHIP_COLUMNS, type MembershipRow, toMembershipDto } from "./membership-dto";

export const MEMBERSHIP_RESTORED_EVENT = "organization.membership.restored";
/** The most expired snapshots one removal or restore deletes. */
export const PURGE_LIMIT = 1000;

type Tx = Db | Prisma.TransactionClient;

/**
 * The snapshot rows of a removal's writing statement, which names the deleted memberships
 * `removed` and the deleted project memberships `projects_left` (both `RETURNING *`). Every part
 * of one statement reads the rows as they were before it, so the role rows, which go by ON DELETE
 * CASCADE, are still there to copy. Grouped once by project membership and once by user into one
 * JSON object keyed by user (an uncorrelated subquery: computed once), which each membership looks
 * its user up in: linear in the rows whatever the planner estimates. (A subquery per membership
 * over `projects_left` was quadratic, and its estimate alone made PostgreSQL compile the statement
 * with JIT, about a second. A join of the memberships to the per-user groups was linear with
 * statistics, but on tables never analysed, a new database's or the embedded one's before its
 * maintenance, PostgreSQL estimated one membership and ran the grouping once per membership:
 * 1000 ids took 9 to 13 s instead of 0.2.)
 */
export function snapshotInsert(orgId: string, batchId: string, windowDays: number): Prisma.Sql {
  return Prisma.sql`
    INSERT INTO membership_snapshots (org_id, batch_id, membership_id, membership, project_memberships)
    SELECT ${orgId}::uuid, ${batchId}, r.id, to_jsonb(r),
           coalesce((
             SELECT jsonb_object_agg(kept.user_id::text, kept.project_memberships)
             FROM (
               SELECT pl.user_id,
                      jsonb_agg(to_jsonb(pl) || jsonb_build_object('roles', coalesce(roles.list, '[]'::jsonb)) ORDER BY pl.id)
                        AS project_memberships
               FROM projects_left pl
               LEFT JOIN (
                 SELECT pr.project_membership_id, jsonb_agg(to_jsonb(pr) ORDER BY pr.id) AS list
                 FROM project_membership_roles pr
                 WHERE pr.project_membership_id = ANY(ARRAY(SELECT id FROM projects_left))
                 GROUP BY pr.project_membership_id
               ) roles ON roles.project_membership_id = pl.id
               GROUP BY pl.user_id
             ) kept
           ) -> r.user_id::text, '[]'::jsonb)
    FROM removed r
    WHERE ${windowDays}::int > 0`;
}

/** A whole number written into a statement's text, where a parameter would leave the planner guessing. */
function intLiteral(n: number): Prisma.Sql {
  if (!Number.isSafeInteger(n)) throw new TypeError(`not a whole number: ${n}`);
  return Prisma.raw(String(n));
}

/**
 * At most PURGE_LIMIT snapshots older than the window, oldest first, skipping rows a restore
 * holds; only when `onlyIf` (an SQL condition) holds, so a statement that writes nothing purges nothing.
 * The window and the limit are in the text, not parameters: in a prepared statement's generic plan
 * a parameter's cutoff is estimated to match a third of the table, so the plan looked costlier
 * than the custom ones, and PostgreSQL went back to planning the removal's statement on every
 * execution (a 1-id removal 0.64 → 1.36 ms once the table's statistics were up to date).
 */
export function purgeExpiredSnapshots(windowDays: number, onlyIf: Prisma.Sql = Prisma.sql`true`): Prisma.Sql {
  return Prisma.sql`
    DELETE FROM membership_snapshots
    WHERE (${onlyIf})
      AND (SELECT min(created_at) FROM membership_snapshots) < now() - make_interval(days => ${intLiteral(windowDays)})
      AND id IN (
        SELECT id FROM membership_snapshots
        WHERE created_at < now() - make_interval(days => ${intLiteral(windowDays)})
        ORDER BY created_at LIMIT ${intLiteral(PURGE_LIMIT)} FOR UPDATE SKIP LOCKED)`;
}

/** A snapshot row: the membership as it was (its role already in the contract's form), and what stands in its way now. */
interface SnapshotRow extends MembershipRow {
  snapshotId: string;
  rolePermissions: Prisma.JsonValue | null;
  restored: boolean;
  expired: boolean;
  expiresAt: Date;
  memberExists: boolean;
  userGone: boolean;
  customRoleGone: boolean;
  projects: { id: string; projectId: string; gone: boolean; taken: boolean }[];
}

/** A SnapshotRow as PostgreSQL writes it in JSON. */
type SnapshotJson = Jsonified<Omit<SnapshotRow, "expiresAt">> & { expiresAt: string };

/** The batch's snapshots with what clashes now, locked with `lock`. */
function snapshotsStatement(orgId: string, batchId: string, windowDays: number, lock: boolean): Prisma.Sql {
  return Prisma.sql`
    SELECT s.id AS "snapshotId", ${MEMBERSHIP_COLUMNS}, r.permissions AS "rolePermissions",
      s.restored_at IS NOT NULL AS restored,
      s.created_at < now() - make_interval(days => ${windowDays}::int) AS expired,
      s.created_at + make_interval(days => ${windowDays}::int) AS "expiresAt",
      EXISTS (SELECT 1 FROM org_memberships x
              WHERE x.id = m.id OR (x.org_id = s.org_id AND x.user_id = m.user_id)) AS "memberExists",
      (m.user_id IS NOT NULL AND u.id IS NULL) AS "userGone",
      (m.role_id IS NOT NULL AND r.id IS NULL) AS "customRoleGone",
      (SELECT coalesce(jsonb_agg(jsonb_build_object(
                'id', pm.id, 'projectId', pm.project_id,
                'gone', NOT EXISTS (SELECT 1 FROM projects p WHERE p.id = pm.project_id AND p.org_id = s.org_id),
                'taken', EXISTS (SELECT 1 FROM project_memberships x
                                 WHERE x.id = pm.id OR (x.project_id = pm.project_id AND x.user_id = pm.user_id)))
              ORDER BY pm.id), '[]'::jsonb)
       FROM jsonb_populate_recordset(null::project_memberships, s.project_memberships) pm) AS projects
    FROM membership_snapshots s
    CROSS JOIN LATERAL jsonb_populate_record(null::org_memberships, s.membership) m
    LEFT JOIN users u ON u.id = m.user_id
    LEFT JOIN org_roles r ON r.id = m.role_id AND r.org_id = s.org_id
    WHERE s.org_id = ${orgId}::uuid AND s.batch_id = ${batchId}
    ORDER BY m.id
    ${lock ? Prisma.sql`FOR UPDATE OF s` : Prisma.empty}`;
}

interface RestorePlan {
  rows: SnapshotRow[];
  conflicts: RestoreConflict[];
  /** The snapshots to restore, and the project memberships to restore with them. */
  restorable: SnapshotRow[];
  projectMembershipIds: string[];
}

/** Sorts each membership and project membership into restorable or conflicting. */
function sortOut(rows: SnapshotRow[]): RestorePlan {
  const conflicts: RestoreConflict[] = [];
  const restorable: SnapshotRow[] = [];
  const projectMembershipIds: string[] = [];
  for (const row of rows) {
    const reason = row.expired
      ? "expired"
      : row.restored
        ? "alreadyRestored"
        : row.userGone
          ? "userGone"
          : row.memberExists
            ? "memberExists"
            : row.customRoleGone
              ? "customRoleGone"
              : null;
    if (reason) {
      conflicts.push({ membershipId: row.id, reason });
      continue;
    }
    restorable.push(row);
    for (const p of row.projects) {
      if (p.gone) conflicts.push({ membershipId: row.id, reason: "projectGone", projectId: p.projectId });
      else if (p.taken) conflicts.push({ membershipId: row.id, reason: "projectMemberExists", projectId: p.projectId });
      else projectMembershipIds.push(p.id);
    }
  }
  return { rows, conflicts, restorable, projectMembershipIds };
}

function notFound(orgId: string, batchId: string): NotFoundError {
  return new NotFoundError(`Removal ${batchId} not found in organization ${orgId}`);
}

function permissionDenied(rules: PermissionRule[]): PermissionDeniedError {
  return new PermissionDeniedError("You are not allowed to create on member", rulesForSubject(rules, "member"));
}

/** The caller's rules as they are now, or why it may not restore: gone, inactive, or no `create` on `member`. */
function mayRestore(current: CurrentRules): CurrentRules {
  if ("blocker" in current) return current;
  return can(current.rules, "create", "member") ? current : { blocker: permissionDenied(current.rules) };
}

/**
 * The batch's rows, or, when its snapshots are gone (purged, or never kept with a window of 0)
 * but the removal is in the audit log, an `expired` conflict per membership it removed.
 */
async function readPlan(tx: Tx, caller: Caller, batchId: string, windowDays: number, lock: boolean) {
  const orgId = caller.organizationId;
  // One JSON value rather than a row per snapshot: Prisma decodes raw rows one value at a time,
  // which at 1000 snapshots of some twenty columns cost more than the query.
  const [read] = await tx.$queryRaw<{ rows: SnapshotJson[] }[]>`
    SELECT coalesce(json_agg(x ORDER BY x.id), '[]'::json) AS rows
    FROM (${snapshotsStatement(orgId, batchId, windowDays, lock)}) x`;
  const rows = (read?.rows ?? []).map(
    ({ expiresAt, ...r }): SnapshotRow => ({
      ...fromJsonRow<Omit<SnapshotRow, "expiresAt">>(r),
      expiresAt: new Date(expiresAt),
    }),
  );
  if (rows.length > 0) return { plan: sortOut(rows), expiresAt: rows[0]?.expiresAt ?? null };
  const removed = await tx.$queryRaw<{ targetId: string }[]>`
    SELECT target_id AS "targetId" FROM audit_events
    WHERE org_id = ${orgId}::uuid AND batch_id = ${batchId} AND event_type = 'organization.membership.deleted'
    ORDER BY target_id`;
  if (removed.length === 0) throw notFound(orgId, batchId);
  const conflicts = removed.map((e) => ({ membershipId: e.targetId, reason: "expired" as const }));
  return { plan: { rows, conflicts, restorable: [], projectMembershipIds: [] }, expiresAt: null };
}

/** The privilege boundary over every role the batch would put back. */
function boundary(rules: PermissionRule[], rows: SnapshotRow[]) {
  for (const row of rows) {
    const beyond = privilegeBoundary(rules, rulesForRole(row.role, row.rolePermissions), {
      kind: "restore",
      membershipId: row.id,
    });
    if (beyond) return beyond;
  }
  return null;
}

function conflictError(batchId: string, conflicts: RestoreConflict[]): ConflictError {
  const n = conflicts.length;
  return new ConflictError(
    `Removal ${batchId} cannot be restored as it was: ${n} conflict${n === 1 ? "" : "s"}. Nothing was restored.`,
    conflicts,
  );
}

/**
 * The writing statement of a restore: everything in one round trip, answering the memberships put
 * back. Each table is reached by its primary key (the snapshots by `= ANY(ARRAY(...))`, the users
 * by a scalar subquery), where joins with the batch's rows made the planner scan `users` and
 * `membership_snapshots` whole (EXPLAIN at 100,000 members; docs/performance.md).
 */
function restoreStatement(
  caller: Caller,
  batchId: string,
  plan: RestorePlan,
  origin: RequestOrigin,
  windowDays: number,
) {
  return Prisma.sql`
    WITH snap AS (
      SELECT s.id, s.membership, s.project_memberships FROM unnest(${plan.restorable.map((r) => r.snapshotId)}::uuid[]) AS k(id)
      JOIN membership_snapshots s ON s.id = k.id
    ), restored AS (
      INSERT INTO org_memberships (id, org_id, user_id, invite_email, role, role_id, status, project_favorites,
                                   is_active, last_invited_at, last_login_auth_method, last_login_time,
                                   created_at, updated_at)
      SELECT m.id, m.org_id, m.user_id, m.invite_email, m.role, m.role_id, m.status, m.project_favorites,
             m.is_active, m.last_invited_at, m.last_login_auth_method, m.last_login_time, m.created_at, now()
      FROM snap CROSS JOIN LATERAL jsonb_populate_record(null::org_memberships, snap.membership) m
      RETURNING *
    ), pms AS (
      SELECT p.id, p.project_id, p.user_id, p.created_at, e.value -> 'roles' AS roles
      FROM snap CROSS JOIN LATERAL jsonb_array_elements(snap.project_memberships) e
      CROSS JOIN LATERAL jsonb_populate_record(null::project_memberships, e.value) p
      WHERE p.id = ANY(${plan.projectMembershipIds}::uuid[])
    ), pms_restored AS (
      INSERT INTO project_memberships (id, project_id, user_id, created_at, updated_at)
      SELECT id, project_id, user_id, created_at, now() FROM pms
      RETURNING id
    ), roles_restored AS (
      INSERT INTO project_membership_roles (id, project_membership_id, role, created_at)
      SELECT r.id, r.project_membership_id, r.role, r.created_at
      FROM pms CROSS JOIN LATERAL jsonb_populate_recordset(null::project_membership_roles, pms.roles) r
    ), marked AS (
      UPDATE membership_snapshots s SET restored_at = now(), restored_by = ${origin.reqId}
      WHERE s.id = ANY(ARRAY(SELECT id FROM snap))
    ), purged AS (
      ${purgeExpiredSnapshots(windowDays)}
    ), audited AS (
      ${auditInsert(caller, origin, MEMBERSHIP_RESTORED_EVENT, {
        targetId: Prisma.sql`m.id::text`,
        // The email by a probe of users' primary key per row (a join let the planner hash all the users).
        metadata: Prisma.sql`jsonb_build_object('restoredBatchId', ${batchId}::text, 'userId', m.user_id,
                               'email', coalesce((SELECT u.email FROM users u WHERE u.id = m.user_id), m.invite_email),
                               'role', m.role::text, 'status', m.status::text)`,
        from: Prisma.sql`restored m`,
      })}
    )
    SELECT coalesce((SELECT json_agg(x ORDER BY x.id) FROM (SELECT ${MEMBERSHIP_COLUMNS} FROM restored m) x), '[]'::json)
             AS memberships,
           (SELECT count(*)::int FROM pms_restored) AS "projectMembershipCount"`;
}

type RestoreInput = { batchId: string; skipConflicts?: boolean };

/**
 * One attempt at a restore, in one transaction; with an Idempotency-Key, its answer is stored in
 * that transaction (services/idempotency.ts).
 */
async function restoreOnce(
  prisma: Db,
  caller: Caller,
  input: RestoreInput,
  origin: RequestOrigin,
  windowDays: number,
  idempotency: IdempotentRequest | null,
): Promise<RestoreMembershipsResponse> {
  const orgId = caller.organizationId;
  const restore = async (tx: Tx): Promise<RestoreMembershipsResponse> => {
    const current = mayRestore(await readCallerRules(tx, caller, true));
    if ("blocker" in current) throw current.blocker;
    await tx.$executeRaw`SELECT 1 FROM organizations WHERE id = ${orgId}::uuid FOR NO KEY UPDATE`;
    const { plan } = await readPlan(tx, caller, input.batchId, windowDays, true);
    const beyond = boundary(current.rules, plan.rows);
    if (beyond) throw beyond;
    if (plan.conflicts.length > 0 && !input.skipConflicts) throw conflictError(input.batchId, plan.conflicts);
    if (plan.restorable.length === 0) return { memberships: [], projectMembershipCount: 0, skipped: plan.conflicts };
    // The memberships put back come as one JSON value, answered in that form (as the removal's).
    const [row] = await tx.$queryRaw<{ memberships: Jsonified<MembershipRow>[]; projectMembershipCount: number }[]>(
      restoreStatement(caller, input.batchId, plan, origin, windowDays),
    );
    return {
      memberships: (row?.memberships ?? []).map(toMembershipDto),
      projectMembershipCount: row?.projectMembershipCount ?? 0,
      skipped: plan.conflicts,
    };
  };
  const options = { maxWait: 10_000, timeout: 60_000 };
  if (idempotency) return (await idempotentTransaction(prisma, idempotency, restore, options)).value;
  return prisma.$transaction(restore, options);
}

/**
 * Puts the batch back (permission `create` on `member` is checked before this, and again on the
 * caller's row as it is now). 404 when the organization never removed that batch; 403 when a
 * role it would put back is beyond the caller's; 409 listing every conflict, changing nothing,
 * unless `skipConflicts`.
 */
export async function restoreMemberships(
  prisma: Db,
  caller: Caller,
  input: RestoreInput,
  origin: RequestOrigin,
  opts: { windowDays?: number; idempotency?: IdempotentRequest | null } = {},
): Promise<RestoreMembershipsResponse> {
  const windowDays = opts.windowDays ?? getConfig().restoreWindowDays;
  const attempt = () => restoreOnce(prisma, caller, input, origin, windowDays, opts.idempotency ?? null);
  try {
    return await attempt();
  } catch (err) {
    if (!isConstraintViolation(err)) throw err;
  }
  // A writer this restore could not see when it read has committed a row in its way (see the
  // top of this file); the transaction rolled back (and with it any hold on the Idempotency-Key).
  // Once more, now seeing it: the clash is read as a conflict. Should yet another writer slip
  // in, the answer is the 409 all the same.
  try {
    return await attempt();
  } catch (err) {
    if (!isConstraintViolation(err)) throw err;
    const { plan } = await readPlan(prisma, caller, input.batchId, windowDays, false);
    throw conflictError(input.batchId, plan.conflicts);
  }
}

/** What restoreMemberships would do now, without locking or writing. */
export async function previewRestoreMemberships(
  prisma: Db,
  caller: Caller,
  batchId: string,
  windowDays: number = getConfig().restoreWindowDays,
): Promise<PreviewRestoreMembershipsResponse> {
  const { plan, expiresAt } = await readPlan(prisma, caller, batchId, windowDays, false);
  const current = mayRestore(await readCallerRules(prisma, caller, false));
  const blocker = "blocker" in current ? current.blocker : boundary(current.rules, plan.rows);
  return {
    memberships: plan.rows.map(toMembershipDto),
    projectMembershipCount: plan.projectMembershipIds.length,
    conflicts: plan.conflicts,
    blocker: blocker && {
      statusCode: blocker.status,
      error: blocker.errorName,
      message: blocker.message,
      ...(blocker.details !== undefined ? { details: blocker.details } : {}),
    },
    expiresAt: expiresAt?.toISOString() ?? null,
  };
}
