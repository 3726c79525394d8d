import { getConfig } from "@roster/config";
import {
  bulkDeleteMembershipsInput,
  ListAuditBatchesInput,
  ListAuditBatchesOutput,
  ListMembershipIdsInput,
  ListMembershipIdsOutput,
  ListMembershipsInput,
  ListMembershipsOutput,
  PreviewBulkDeleteMembershipsResponse,
  PreviewRestoreMembershipsInput,
  PreviewRestoreMembershipsResponse,
  RestoreMembershipsInput,
  StreamMembershipsInput,
} from "@roster/contract";
import { listAuditBatches } from "../services/audit";
import { bulkDeleteMemberships, previewBulkDeleteMemberships } from "../services/bulk-delete-memberships";
import { listMembershipIds, listMemberships, streamMemberships } from "../services/list-memberships";
import { previewRestoreMemberships, restoreMemberships } from "../services/membership-snapshots";
import { createTRPCRouter, idempotencyOf, orgProcedure } from "../trpc";

const BulkDeleteInput = bulkDeleteMembershipsInput(() => getConfig().maxBulkDelete);
const readMembers = { action: "read", subject: "member" } as const;

export const organizationsRouter = createTRPCRouter({
  /**
   * bulkDeleteOrgMemberships: removes the memberships, their project memberships, and records it.
   * No `.output()` check: it would run after the rows are gone (too late to change anything) and
   * cost a pass over up to 1000 rows; the service's return type is the contract's
   * BulkDeleteMembershipsResponse, checked by the compiler, and the scenario tests check the wire.
   * Check 9 runs here like everywhere, and again in the service under the row locks, with the
   * caller's membership as it is then: a caller demoted by a removal that committed a moment
   * earlier must not act on the rules it had when its request began.
   * Takes an Idempotency-Key, looked up after checks 1 to 8 (docs/idempotency.md).
   */
  bulkDeleteMemberships: orgProcedure(BulkDeleteInput, { action: "delete", subject: "member" })
    .meta({ idempotent: true })
    .mutation(({ ctx, input }) =>
      bulkDeleteMemberships(
        ctx.prisma,
        ctx.caller,
        input.membershipIds,
        { reqId: ctx.reqId, ip: ctx.ip, userAgent: ctx.userAgent },
        idempotencyOf(ctx, "organizations.bulkDeleteMemberships", input),
      ),
    ),

  /**
   * Checks 9 to 13 without writing: what would go, and what would stop it. A mutation only so
   * that up to MAX_BULK_DELETE ids travel in a request body rather than a URL.
   */
  previewBulkDeleteMemberships: orgProcedure(BulkDeleteInput, readMembers)
    .output(PreviewBulkDeleteMembershipsResponse)
    .mutation(({ ctx, input }) => previewBulkDeleteMemberships(ctx.prisma, ctx.caller, input.membershipIds)),

  /**
   * Undo of a removal: puts the batch (the removal's request id) back as it was. Check 9 is
   * `create` on `member`; the service applies the privilege boundary and the conflicts.
   */
  restoreMemberships: orgProcedure(RestoreMembershipsInput, { action: "create", subject: "member" })
    .meta({ idempotent: true })
    .mutation(({ ctx, input }) =>
      restoreMemberships(
        ctx.prisma,
        ctx.caller,
        input,
        { reqId: ctx.reqId, ip: ctx.ip, userAgent: ctx.userAgent },
        { idempotency: idempotencyOf(ctx, "organizations.restoreMemberships", input) },
      ),
    ),

  /** What restoreMemberships would do now: the batch, its conflicts, and what would stop it. */
  previewRestoreMemberships: orgProcedure(PreviewRestoreMembershipsInput, readMembers)
    .output(PreviewRestoreMembershipsResponse)
    .query(({ ctx, input }) => previewRestoreMemberships(ctx.prisma, ctx.caller, input.batchId)),

  listMemberships: orgProcedure(ListMembershipsInput, readMembers)
    .output(ListMembershipsOutput)
    .query(({ ctx, input }) => listMemberships(ctx.prisma, ctx.caller.organizationId, input)),

  /**
   * Every membership of the organization, oldest first, as pages read lazily (an async
   * iterable): checks 7 to 9 run when it is called, the reads as it is iterated. The REST
   * listing writes it out as it comes; over tRPC HTTP it needs a streaming link.
   */
  streamMemberships: orgProcedure(StreamMembershipsInput, readMembers).query(({ ctx }) =>
    streamMemberships(ctx.prisma, ctx.caller.organizationId),
  ),

  /** Every id matching a search and filters, up to MAX_BULK_DELETE ("select all matching"). */
  listMembershipIds: orgProcedure(ListMembershipIdsInput, readMembers)
    .output(ListMembershipIdsOutput)
    .query(async ({ ctx, input }) => {
      const { ids, total } = await listMembershipIds(ctx.prisma, ctx.caller.organizationId, input, ctx.maxBulkDelete);
      return { ids, total, capped: total > ids.length };
    }),

  /** Recent audit events, newest first, grouped by the request that wrote them. */
  listAuditBatches: orgProcedure(ListAuditBatchesInput, { action: "read", subject: "audit" })
    .output(ListAuditBatchesOutput)
    .query(async ({ ctx, input }) => ({
      batches: await listAuditBatches(ctx.prisma, ctx.caller.organizationId, input.limit),
    })),
});
