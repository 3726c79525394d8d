// The audit events a write records: one per membership it touched, all naming the caller and
// the request (its id is the batch id). The removal and the restore insert them with this
// statement, each as one part of its single writing statement.
import { Prisma } from "@roster/db";
import type { Caller } from "../auth/caller";
import type { RequestOrigin } from "./bulk-delete-memberships";

/** The longest user agent an event keeps. */
const USER_AGENT_MAX = 512;

/**
 * `INSERT INTO audit_events ... SELECT ... FROM <from>`: one `eventType` event per row of
 * `from`, whose target id and metadata are the SQL expressions `targetId` and `metadata` over it.
 */
export function auditInsert(
  caller: Caller,
  origin: RequestOrigin,
  eventType: string,
  rows: { targetId: Prisma.Sql; metadata: Prisma.Sql; from: Prisma.Sql },
): Prisma.Sql {
  return Prisma.sql`
    INSERT INTO audit_events (org_id, actor_type, actor_id, actor_identity_id, event_type, target_type,
                              target_id, batch_id, ip, user_agent, metadata)
    SELECT ${caller.organizationId}::uuid, ${caller.kind}, ${caller.kind === "user" ? caller.userId : null}::uuid,
           ${caller.kind === "identity" ? caller.identityId : null}::uuid, ${eventType}, 'org_membership',
           ${rows.targetId}, ${origin.reqId}, ${origin.ip}, ${origin.userAgent?.slice(0, USER_AGENT_MAX) ?? null},
           ${rows.metadata}
    FROM ${rows.from}`;
}
