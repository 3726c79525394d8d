// The documented operation's shapes (see the OpenAPI document and contract in the spec folder).
import { z } from "zod";

export const ORG_ROLES = ["admin", "member", "no-access", "custom"] as const;
export const OrgRole = z.enum(ORG_ROLES);
export type OrgRole = z.infer<typeof OrgRole>;

export const MEMBERSHIP_STATUSES = ["invited", "accepted"] as const;
export const MembershipStatus = z.enum(MEMBERSHIP_STATUSES);
export type MembershipStatus = z.infer<typeof MembershipStatus>;

/** ISO 8601 in UTC with milliseconds, e.g. 2026-11-28T09:15:00.000Z. */
export const IsoDateTime = z.iso.datetime({ precision: 3 });

/**
 * An id as PostgreSQL's `uuid` type stores it: any 8-4-4-4-12 hex id, whatever its version or
 * variant (imported data holds ids that are not RFC 9562 ones, e.g. 11111111-1111-1111-1111-111111111111).
 * The one id schema of the contract, for input and output alike: an output schema stricter than
 * the database would reject a row after its transaction committed.
 */
export const Uuid = z.guid({ message: "Invalid UUID" });

/**
 * A UUID given by a caller: surrounding white space is trimmed first. An id of the right shape
 * that names nothing is a 404, not a 422.
 */
export const TrimmedUuid = z
  .string()
  .trim()
  // Ids are compared as strings after parsing (own membership, found ids, the token's
  // organization), while PostgreSQL matches any case: one spelling for both.
  .toLowerCase()
  .pipe(Uuid);

export const MembershipDto = z
  .object({
    id: Uuid,
    role: OrgRole,
    status: MembershipStatus,
    inviteEmail: z.string().nullable(),
    createdAt: IsoDateTime,
    updatedAt: IsoDateTime,
    userId: Uuid.nullable(),
    orgId: Uuid,
    roleId: Uuid.nullable(),
    projectFavorites: z.array(z.string()).nullable(),
    isActive: z.boolean(),
    lastInvitedAt: IsoDateTime.nullable(),
    lastLoginAuthMethod: z.string().nullable(),
    lastLoginTime: IsoDateTime.nullable(),
  })
  .strict();
export type MembershipDto = z.infer<typeof MembershipDto>;

export const MembershipUserDto = z
  .object({
    id: Uuid,
    email: z.string(),
    username: z.string(),
    firstName: z.string().nullable(),
    lastName: z.string().nullable(),
  })
  .strict();
export type MembershipUserDto = z.infer<typeof MembershipUserDto>;

export const MembershipWithUserDto = MembershipDto.extend({ user: MembershipUserDto.nullable() }).strict();
export type MembershipWithUserDto = z.infer<typeof MembershipWithUserDto>;
