// Undo of a removal: restore a batch (the removal's request id) as it was.
import { z } from "zod";
import { PreviewBlocker } from "./bulk-delete";
import { ReqId } from "./errors";
import { MembershipDto, TrimmedUuid, Uuid } from "./memberships";

/** The REST body: the batch to restore, and whether to restore what can be when some of it clashes. */
export const RestoreMembershipsBody = z
  .object({
    batchId: z.string().trim().pipe(ReqId).describe("The removal's request id (its audit events' batch id)."),
    skipConflicts: z
      .boolean()
      .optional()
      .describe("Restore what can be restored and list the rest as skipped, instead of answering 409."),
  })
  .strict();
export type RestoreMembershipsBody = z.infer<typeof RestoreMembershipsBody>;

export const RestoreMembershipsInput = RestoreMembershipsBody.extend({
  organizationId: TrimmedUuid.describe("The ID of the organization the batch was removed from."),
}).strict();
export type RestoreMembershipsInput = z.infer<typeof RestoreMembershipsInput>;

export const PreviewRestoreMembershipsInput = RestoreMembershipsInput.pick({ organizationId: true, batchId: true });
export type PreviewRestoreMembershipsInput = z.infer<typeof PreviewRestoreMembershipsInput>;

export const RESTORE_CONFLICT_REASONS = [
  /** The batch's window has passed. */
  "expired",
  /** A restore of this batch already put the membership back. */
  "alreadyRestored",
  /** The user is a member of the organization again (or the membership id is taken). */
  "memberExists",
  /** The user account no longer exists. */
  "userGone",
  /** The membership's custom role was deleted. */
  "customRoleGone",
  /** A project the user belonged to was deleted. */
  "projectGone",
  /** The user is in that project again. */
  "projectMemberExists",
] as const;

export const RestoreConflict = z
  .object({
    membershipId: Uuid,
    reason: z.enum(RESTORE_CONFLICT_REASONS),
    /** For the project reasons: the project. */
    projectId: Uuid.optional(),
  })
  .strict();
export type RestoreConflict = z.infer<typeof RestoreConflict>;

export const RestoreMembershipsResponse = z
  .object({
    /** The memberships put back, as they are now. */
    memberships: z.array(MembershipDto),
    /** How many project memberships came back with them. */
    projectMembershipCount: z.number().int().nonnegative(),
    /** What `skipConflicts` left out (empty otherwise). */
    skipped: z.array(RestoreConflict),
  })
  .strict();
export type RestoreMembershipsResponse = z.infer<typeof RestoreMembershipsResponse>;

export const PreviewRestoreMembershipsResponse = z
  .object({
    /** The memberships of the batch as they were removed (restorable or not). */
    memberships: z.array(MembershipDto),
    /** How many project memberships a restore would bring back (conflicting ones excluded). */
    projectMembershipCount: z.number().int().nonnegative(),
    /** What clashes now: a restore answers 409 listing these, or skips them with `skipConflicts`. */
    conflicts: z.array(RestoreConflict),
    /** What would stop the restore outright (permission, privilege boundary), or null. */
    blocker: PreviewBlocker.nullable(),
    /** When the window closes (null once the snapshots are purged). */
    expiresAt: z.string().nullable(),
  })
  .strict();
export type PreviewRestoreMembershipsResponse = z.infer<typeof PreviewRestoreMembershipsResponse>;
