// The one select and the one mapping of a membership row: the columns every service reads a
// membership with (explicit, never a row wholesale), the row they come back as, and the
// contract's DTOs made from it. Used by the list, the streamed list, the preview, the removal
// and the restore.
import type { MembershipDto, MembershipUserDto, MembershipWithUserDto, OrgRole } from "@roster/contract";
import { Prisma } from "@roster/db";

/** A membership as MEMBERSHIP_COLUMNS reads it (the role already in the contract's spelling). */
export interface MembershipRow {
  id: string;
  role: OrgRole;
  status: "invited" | "accepted";
  inviteEmail: string | null;
  createdAt: Date;
  updatedAt: Date;
  userId: string | null;
  orgId: string;
  roleId: string | null;
  projectFavorites: string[];
  isActive: boolean;
  lastInvitedAt: Date | null;
  lastLoginAuthMethod: string | null;
  lastLoginTime: Date | null;
}

/** The user's columns beside a membership, as USER_COLUMNS reads them (null without a user). */
export interface UserColumns {
  userEmail: string | null;
  userUsername: string | null;
  userFirstName: string | null;
  userLastName: string | null;
}

/**
 * The columns of a MembershipRow, from an `org_memberships` row (or a record of its type) named
 * `m`. The role is read as its label, which is the contract's spelling (`no-access`).
 */
export const MEMBERSHIP_COLUMNS = Prisma.sql`
  m.id, m.role::text AS role, m.status::text AS status, m.invite_email AS "inviteEmail",
  m.created_at AS "createdAt", m.updated_at AS "updatedAt", m.user_id AS "userId", m.org_id AS "orgId",
  m.role_id AS "roleId", coalesce(m.project_favorites, '{}') AS "projectFavorites", m.is_active AS "isActive",
  m.last_invited_at AS "lastInvitedAt", m.last_login_auth_method AS "lastLoginAuthMethod",
  m.last_login_time AS "lastLoginTime"`;

/** The UserColumns, from a `users` row named `u` (left-joined: all null for an invite). */
export const USER_COLUMNS = Prisma.sql`
  u.email AS "userEmail", u.username AS "userUsername", u.first_name AS "userFirstName", u.last_name AS "userLastName"`;

/** A MembershipRow's timestamps as PostgreSQL writes them in JSON (`json_agg`, `to_json`). */
interface JsonTimestamps {
  createdAt: string;
  updatedAt: string;
  lastInvitedAt: string | null;
  lastLoginTime: string | null;
}

/** A MembershipRow (with whatever columns are read beside it) in its JSON form. */
export type Jsonified<T extends MembershipRow> = Omit<T, keyof JsonTimestamps> & JsonTimestamps;

/** A MembershipRow (and the columns beside it) back from its JSON form. */
export function fromJsonRow<T extends MembershipRow>(row: Jsonified<T>): T {
  const { createdAt, updatedAt, lastInvitedAt, lastLoginTime } = row as JsonTimestamps;
  return {
    ...row,
    createdAt: new Date(createdAt),
    updatedAt: new Date(updatedAt),
    lastInvitedAt: lastInvitedAt === null ? null : new Date(lastInvitedAt),
    lastLoginTime: lastLoginTime === null ? null : new Date(lastLoginTime),
  } as unknown as T;
}

/** A timestamp as the contract writes it (ISO 8601, UTC, milliseconds), or null. */
export const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

/** PostgreSQL's UTC timestamp, in its text form or its JSON form. */
const PG_UTC = /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:\.(\d{1,6}))?\+00(?::00)?$/;

/**
 * A timestamp as PostgreSQL writes it, as the contract writes it: PostgreSQL's UTC forms, as text
 * ("2026-11-30 01:24:15.12+00") or in JSON ("2026-11-30T01:24:15.12+00:00"), trailing zeros
 * dropped, are rewritten as text; any other (a session in another time zone) goes through a Date,
 * as does a Date itself. The same string as `iso(new Date(s))`.
 */
export function isoFromPg(s: string | Date | null): string | null {
  if (s === null) return null;
  if (s instanceof Date) return s.toISOString();
  const m = PG_UTC.exec(s);
  if (!m) return new Date(s).toISOString();
  return `${m[1]}T${m[2]}.${(m[3] ?? "").padEnd(3, "0").slice(0, 3)}Z`;
}

/**
 * A MembershipRow as it was read: its timestamps as Dates (Prisma, pg), or as PostgreSQL wrote
 * them (its JSON form, see Jsonified; its text form, queryRows' `timestampsAsText`).
 */
export type MembershipRowAsRead = Omit<MembershipRow, keyof JsonTimestamps> & {
  createdAt: Date | string;
  updatedAt: Date | string;
  lastInvitedAt: Date | string | null;
  lastLoginTime: Date | string | null;
};

/** The one mapping of a membership row to the contract's DTO, however its timestamps were read. */
export function toMembershipDto(row: MembershipRowAsRead): MembershipDto {
  return {
    id: row.id,
    role: row.role,
    status: row.status,
    inviteEmail: row.inviteEmail,
    createdAt: isoFromPg(row.createdAt) as string,
    updatedAt: isoFromPg(row.updatedAt) as string,
    userId: row.userId,
    orgId: row.orgId,
    roleId: row.roleId,
    projectFavorites: row.projectFavorites,
    isActive: row.isActive,
    lastInvitedAt: isoFromPg(row.lastInvitedAt),
    lastLoginAuthMethod: row.lastLoginAuthMethod,
    lastLoginTime: isoFromPg(row.lastLoginTime),
  };
}

/** The membership's user, from the UserColumns beside it. */
export function userOf(row: Pick<MembershipRow, "userId"> & UserColumns): MembershipUserDto | null {
  return row.userId && row.userEmail && row.userUsername
    ? {
        id: row.userId,
        email: row.userEmail,
        username: row.userUsername,
        firstName: row.userFirstName,
        lastName: row.userLastName,
      }
    : null;
}

export function toMembershipWithUserDto(row: MembershipRowAsRead & UserColumns): MembershipWithUserDto {
  // The user added to the DTO itself (not spread into a copy): one object a row, not two.
  const dto = toMembershipDto(row) as MembershipWithUserDto;
  dto.user = userOf(row);
  return dto;
}
