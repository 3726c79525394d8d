// Recent audit events, grouped by the request that wrote them (their batch id).
import type { AuditBatch } from "@roster/contract";
import type { Db } from "@roster/db";

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

export async function listAuditBatches(prisma: Db, orgId: string, limit: number): Promise<AuditBatch[]> {
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
  for (const e of events) {
    const key = e.batchId ?? e.id;
    byKey.set(key, [...(byKey.get(key) ?? []), e]);
  }
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

const isUuid = (s: string) => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s);
const ROLES = new Set(["admin", "member", "no-access", "custom"]);
const isRole = (v: unknown): v is AuditBatch["targets"][number]["role"] & string =>
  typeof v === "string" && ROLES.has(v);
