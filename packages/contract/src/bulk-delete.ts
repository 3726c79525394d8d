// bulkDeleteOrgMemberships and its companions: list and preview.
import { z } from "zod";
import { ErrorEnvelope } from "./errors";
import { MembershipDto, MembershipWithUserDto, OrgRole, TrimmedUuid, Uuid } from "./memberships";

export const DEFAULT_MAX_BULK_DELETE = 1000;

/**
 * The REST body: exactly one key, `membershipIds`, at most `max` trimmed UUIDs. `max` may be a
 * function, read when a body is parsed (the limit is a server setting, unknown at import time).
 * The count is checked first, and alone: a list that is too long is refused without looking at
 * its items (so an oversized list costs one issue, not one per id).
 */
export function bulkDeleteMembershipsBody(max: number | (() => number) = DEFAULT_MAX_BULK_DELETE) {
  const limit = typeof max === "number" ? () => max : max;
  const message = (n: number) => `At most ${n} membership ids can be deleted in one request`;
  const items = z.array(TrimmedUuid);
  const ids = z.preprocess(
    (list, ctx) => {
      const maximum = limit();
      if (Array.isArray(list) && list.length > maximum) {
        ctx.addIssue({ code: "too_big", origin: "array", maximum, inclusive: true, message: message(maximum) });
      }
      return list;
    },
    // The static limit also goes into the JSON Schema (maxItems) of the OpenAPI document.
    typeof max === "number" ? items.max(max, { message: message(max) }) : items,
  );
  return z.object({ membershipIds: ids.describe("The IDs of the memberships to delete.") }).strict();
}
export type BulkDeleteMembershipsBody = z.infer<ReturnType<typeof bulkDeleteMembershipsBody>>;

/** The tRPC input: the path's organization id and the body's ids. */
export function bulkDeleteMembershipsInput(max: number | (() => number) = DEFAULT_MAX_BULK_DELETE) {
  return bulkDeleteMembershipsBody(max)
    .extend({ organizationId: TrimmedUuid.describe("The ID of the organization to delete the memberships from.") })
    .strict();
}
export type BulkDeleteMembershipsInput = z.infer<ReturnType<typeof bulkDeleteMembershipsInput>>;

export const BulkDeleteMembershipsResponse = z.object({ memberships: z.array(MembershipDto) }).strict();
export type BulkDeleteMembershipsResponse = z.infer<typeof BulkDeleteMembershipsResponse>;

/** What stops a removal, as the preview reports it (the same status, name and message as a real request). */
export const PreviewBlocker = ErrorEnvelope.pick({
  statusCode: true,
  error: true,
  message: true,
  details: true,
}).extend({
  message: z.string(),
});
export type PreviewBlocker = z.infer<typeof PreviewBlocker>;

export const PreviewBulkDeleteMembershipsResponse = z
  .object({
    /** The memberships that would go, in the order their ids were first given (found ones only). */
    memberships: z.array(MembershipWithUserDto),
    /** How many project memberships would go with them. */
    projectMembershipCount: z.number().int().nonnegative(),
    /** The error a real request would answer with now, or null when it would succeed. */
    blocker: PreviewBlocker.nullable(),
  })
  .strict();
export type PreviewBulkDeleteMembershipsResponse = z.infer<typeof PreviewBulkDeleteMembershipsResponse>;

export const MEMBER_SORT_FIELDS = [
  "name",
  "email",
  "role",
  "status",
  "lastLoginTime",
  "createdAt",
  "projectCount",
] as const;
export const MEMBER_STATUS_FILTERS = ["invited", "active", "inactive"] as const;

/** The longest cursor a page can hand out (an offset below 10^9). */
export const MAX_CURSOR_LENGTH = 9;
/** The highest page number a list accepts (with `limit`, it bounds the offset below 10^9, as a cursor does). */
export const MAX_PAGE = 1_000_000;

/** The list's fields (ListMembershipsInput adds that a cursor and a page exclude each other). */
const ListMembershipsFields = z
  .object({
    organizationId: TrimmedUuid,
    /** Opaque: the `nextCursor` of the previous page (bounded: a longer one names no page). */
    cursor: z.string().max(MAX_CURSOR_LENGTH).regex(/^\d+$/, "Invalid cursor").nullish(),
    /** A page by its number (1 is the first), for a pager that jumps; not together with `cursor`. */
    page: z.number().int().min(1).max(MAX_PAGE).optional(),
    limit: z.number().int().min(1).max(500).default(50),
    /** Matches name, email or invite email, case-insensitively. */
    search: z.string().trim().max(200).optional(),
    role: OrgRole.optional(),
    /** invited: not yet accepted; active / inactive: accepted members by their active flag. */
    status: z.enum(MEMBER_STATUS_FILTERS).optional(),
    sortBy: z.enum(MEMBER_SORT_FIELDS).default("email"),
    sortDir: z.enum(["asc", "desc"]).default("asc"),
  })
  .strict();

export const ListMembershipsInput = ListMembershipsFields.refine((v) => !(v.cursor && v.page), {
  message: "Give either a cursor or a page, not both",
  path: ["page"],
});
export type ListMembershipsInput = z.input<typeof ListMembershipsInput>;

export const ListedMembership = MembershipWithUserDto.extend({
  projectCount: z.number().int().nonnegative(),
}).strict();
export type ListedMembership = z.infer<typeof ListedMembership>;

export const ListMembershipsOutput = z
  .object({
    items: z.array(ListedMembership),
    total: z.number().int().nonnegative(),
    nextCursor: z.string().nullable(),
  })
  .strict();
export type ListMembershipsOutput = z.infer<typeof ListMembershipsOutput>;

/** Every membership of one organization, read in one pass (what GET .../memberships streams). */
export const StreamMembershipsInput = ListMembershipsFields.pick({ organizationId: true }).strict();
export type StreamMembershipsInput = z.infer<typeof StreamMembershipsInput>;

/** The REST companion read: GET .../memberships. */
export const ListMembershipsRestResponse = z.object({ users: z.array(MembershipWithUserDto) }).strict();
export type ListMembershipsRestResponse = z.infer<typeof ListMembershipsRestResponse>;

export const ListMembershipIdsInput = ListMembershipsFields.pick({
  organizationId: true,
  search: true,
  role: true,
  status: true,
}).strict();
export type ListMembershipIdsInput = z.infer<typeof ListMembershipIdsInput>;

export const ListMembershipIdsOutput = z
  .object({
    /** At most MAX_BULK_DELETE ids, ordered by email. */
    ids: z.array(Uuid),
    /** How many memberships match in all. */
    total: z.number().int().nonnegative(),
    /** True when more match than one removal may take. */
    capped: z.boolean(),
  })
  .strict();
export type ListMembershipIdsOutput = z.infer<typeof ListMembershipIdsOutput>;
