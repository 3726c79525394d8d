import { z } from "zod";
import { IsoDateTime, OrgRole, TrimmedUuid } from "./memberships";

export const ListAuditBatchesInput = z
  .object({
    organizationId: TrimmedUuid,
    /** How many of the most recent requests (batches) to return. */
    limit: z.number().int().min(1).max(100).default(25),
  })
  .strict();
export type ListAuditBatchesInput = z.input<typeof ListAuditBatchesInput>;

export const AuditBatch = z
  .object({
    /** The request id shared by every event of one request. */
    batchId: z.string(),
    eventType: z.string(),
    createdAt: IsoDateTime,
    actor: z
      .object({
        type: z.string(),
        id: z.string().nullable(),
        email: z.string().nullable(),
        name: z.string().nullable(),
      })
      .strict(),
    ip: z.string().nullable(),
    userAgent: z.string().nullable(),
    /**
     * For a removal: when its restore window closes, while some of it is still waiting to be
     * restored (not restored yet, not expired); null otherwise.
     */
    restorableUntil: IsoDateTime.nullable(),
    /** For a removal: the restores that put members of it back (their batch ids), newest first. */
    restoredBy: z.array(z.string()),
    /** For a removal: how many of its members were put back by those restores. */
    restoredCount: z.number().int().nonnegative(),
    /** For a restore: the removal it undid (its batch id). */
    restoresBatchId: z.string().nullable(),
    targets: z.array(
      z
        .object({
          targetId: z.string().nullable(),
          email: z.string().nullable(),
          role: OrgRole.nullable(),
          userId: z.string().nullable(),
        })
        .strict(),
    ),
  })
  .strict();
export type AuditBatch = z.infer<typeof AuditBatch>;

export const ListAuditBatchesOutput = z.object({ batches: z.array(AuditBatch) }).strict();
export type ListAuditBatchesOutput = z.infer<typeof ListAuditBatchesOutput>;
