// The signed-in user and the organizations where they hold an active membership, with their
// rules there (what the UI may offer; every procedure checks again).
import type { ViewerDto } from "@roster/contract";
import { type Db, fromDbRole } from "@roster/db";
import { rulesForRole } from "../permissions";

/** `onlyOrgId`: a bearer token sees only the organization it is scoped to. */
export async function viewerOf(
  prisma: Db,
  userId: string,
  onlyOrgId: string | null,
  limits: ViewerDto["limits"],
): Promise<ViewerDto> {
  const { memberships, ...user } = await prisma.user.findUniqueOrThrow({
    where: { id: userId },
    select: {
      id: true,
      email: true,
      firstName: true,
      lastName: true,
      memberships: {
        where: { status: "accepted", isActive: true, ...(onlyOrgId ? { orgId: onlyOrgId } : {}) },
        select: {
          id: true,
          role: true,
          org: { select: { id: true, slug: true, name: true } },
          customRole: { select: { permissions: true } },
        },
        orderBy: { org: { name: "asc" } },
      },
    },
  });
  return {
    user,
    organizations: memberships.map((m) => ({
      ...m.org,
      role: fromDbRole(m.role),
      membershipId: m.id,
      rules: rulesForRole(fromDbRole(m.role), m.customRole?.permissions),
    })),
    limits,
  };
}
