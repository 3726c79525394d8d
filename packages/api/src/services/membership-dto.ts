// The one mapping from membership rows to the contract's DTOs: explicit selects, never a row
// wholesale.
import type { MembershipDto, MembershipUserDto, MembershipWithUserDto } from "@roster/contract";
import { type OrgRole as DbOrgRole, fromDbRole } from "@roster/db";

export interface MembershipRow {
  id: string;
  role: DbOrgRole;
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

/** A timestamp as the contract writes it (ISO 8601, UTC, milliseconds), or null. */
export const iso = (d: Date | null): string | null => (d ? d.toISOString() : null);

export function toMembershipDto(row: MembershipRow): MembershipDto {
  return {
    id: row.id,
    role: fromDbRole(row.role),
    status: row.status,
    inviteEmail: row.inviteEmail,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
    userId: row.userId,
    orgId: row.orgId,
    roleId: row.roleId,
    projectFavorites: row.projectFavorites,
    isActive: row.isActive,
    lastInvitedAt: iso(row.lastInvitedAt),
    lastLoginAuthMethod: row.lastLoginAuthMethod,
    lastLoginTime: iso(row.lastLoginTime),
  };
}

export function toMembershipWithUserDto(
  row: MembershipRow & { user: MembershipUserDto | null },
): MembershipWithUserDto {
  return { ...toMembershipDto(row), user: row.user };
}
