// Recent audit events, grouped by the request that wrote them (their batch id), with what the
// UI needs to offer a restore: whether a removal can still be restored, and until when (from its
// snapshots), and which restores put it back (from the restores' own events).
import { getConfig } from "@roster/config";
import type { AuditBatch } from "@roster/contract";
import type { Db } from "@roster/db";
import { MEMBERSHIP_DELETED_EVENT } from "./bulk-delete-memberships";
import { MEMBERSHIP_RESTORED_EVENT } from "./membership-snapshots";

interface EventRow {
  batchId: string | null;
  id: string;
  eventType: string;
  createdAt: Date;
  actorType: string;
  actorId: string | null;
  targetId: string | null;
  ip: string | null;
  userAgent: string | null;
  metadata: unknown;
  actor: { email: string; firstName: string | null; lastName: string | null } | null;
  actorIdentityId: string | null;
  actorIdentity: { name: string } | null;
}

/**
 * For each removal among `keys`, when its window closes while some snapshot of it is neither
 * restored nor expired (the snapshots of one removal share their creation time).
 */
async function restorableUntil(prisma: Db, orgId: string, keys: string[], windowDays: number) {
  const rows = await prisma.$queryRaw<{ batchId: string; until: Date }[]>`
    SELECT batch_id AS "batchId", min(created_at) + make_interval(days => ${windowDays}::int) AS until
    FROM membership_snapshots
    WHERE org_id = ${orgId}::uuid AND batch_id = ANY(${keys}) AND restored_at IS NULL
      AND created_at >= now() - make_interval(days => ${windowDays}::int)
    GROUP BY batch_id`;
  return new Map(rows.map((r) => [r.batchId, r.until.toISOString()]));
}

export async function listAuditBatches(
  prisma: Db,
  orgId: string,
  limit: number,
  windowDays: number = getConfig().restoreWindowDays,
): Promise<AuditBatch[]> {
  // The most recent batches first; an event without a batch id is a batch of its own.
  const recent = await prisma.$queryRaw<{ key: string }[]>`
    SELECT coalesce(batch_id, id::text) AS key FROM audit_events WHERE org_id = ${orgId}::uuid
    GROUP BY coalesce(batch_id, id::text) ORDER BY max(created_at) DESC LIMIT ${limit}`;
  const keys = recent.map((r) => r.key);
  if (keys.length === 0) return [];
  const events: EventRow[] = await prisma.auditEvent.findMany({
    where: { orgId, OR: [{ batchId: { in: keys } }, { batchId: null, id: { in: keys.filter(isUuid) } }] },
    orderBy: [{ createdAt: "desc" }, { id: "asc" }],
    select: {
      id: true,
      batchId: true,
      eventType: true,
      createdAt: true,
      actorType: true,
      actorId: true,
      targetId: true,
      ip: true,
      userAgent: true,
      metadata: true,
      actor: { select: { email: true, firstName: true, lastName: true } },
      actorIdentityId: true,
      actorIdentity: { select: { name: true } },
    },
  });
  const byKey = new Map<string, EventRow[]>();
  // A restore is newer than the removal it undoes, so when a removal is among the most recent
  // batches, so are its restores: their events, read here, say which removals they put back.
  const restores = new Map<string, { by: string[]; count: number }>();
  for (const e of events) {
    const key = e.batchId ?? e.id;
    byKey.set(key, [...(byKey.get(key) ?? []), e]);
    const undone = restoredBatchOf(e);
    if (undone) {
      const r = restores.get(undone) ?? { by: [], count: 0 };
      if (!r.by.includes(key)) r.by.push(key);
      r.count++;
      restores.set(undone, r);
    }
  }
  const removals = keys.filter((k) => byKey.get(k)?.[0]?.eventType === MEMBERSHIP_DELETED_EVENT);
  const until = removals.length > 0 ? await restorableUntil(prisma, orgId, removals, windowDays) : new Map();
  return keys.flatMap((key) => {
    const group = byKey.get(key);
    const first = group?.[0];
    if (!group || !first) return [];
    const name = first.actor
      ? [first.actor.firstName, first.actor.lastName].filter(Boolean).join(" ") || null
      : (first.actorIdentity?.name ?? null);
    return [
      {
        batchId: key,
        eventType: first.eventType,
        createdAt: first.createdAt.toISOString(),
        actor: {
          type: first.actorType,
          id: first.actorId ?? first.actorIdentityId,
          email: first.actor?.email ?? null,
          name,
        },
        ip: first.ip,
        userAgent: first.userAgent,
        restorableUntil: until.get(key) ?? null,
        restoredBy: restores.get(key)?.by ?? [],
        restoredCount: restores.get(key)?.count ?? 0,
        restoresBatchId: restoredBatchOf(first),
        targets: group.map((e) => {
          const meta = (e.metadata ?? {}) as { email?: unknown; role?: unknown; userId?: unknown };
          return {
            targetId: e.targetId,
            email: typeof meta.email === "string" ? meta.email : null,
            role: isRole(meta.role) ? meta.role : null,
            userId: typeof meta.userId === "string" ? meta.userId : null,
          };
        }),
      },
    ];
  });
}

/** For a restore's event, the removal it undid. */
function restoredBatchOf(e: EventRow): string | null {
  if (e.eventType !== MEMBERSHIP_RESTORED_EVENT) return null;
  const id = (e.metadata as { restoredBatchId?: unknown } | null)?.restoredBatchId;
  return typeof id === "string" ? id : null;
}

const isUuid = (s: string) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s);
const ROLES = new Set(["admin", "member", "no-access", "custom"]);
const isRole = (v: unknown): v is AuditBatch["targets"][number]["role"] & string =>
  typeof v === "string" && ROLES.has(v);
