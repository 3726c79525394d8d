import type { OrgRole } from "@roster/contract";
import type { OrgRole as DbOrgRole } from "./generated/prisma/enums";

// The database enum spells `no-access` as `no_access` (Prisma identifiers cannot hold a dash).
export const fromDbRole = (role: DbOrgRole): OrgRole => (role === "no_access" ? "no-access" : role);
export const toDbRole = (role: OrgRole): DbOrgRole => (role === "no-access" ? "no_access" : role);
