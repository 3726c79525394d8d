import { getConfig } from "@roster/config";
import { ViewerDto } from "@roster/contract";

export { ViewerDto };

import { fromDbRole } from "@roster/db";
import { ForbiddenError } from "../errors";
import { rulesForRole } from "../permissions";
import { authedProcedure, createTRPCRouter } from "../trpc";

export const viewerRouter = createTRPCRouter({
  /** The signed-in user and the organizations where they hold an active membership. */
  me: authedProcedure.output(ViewerDto).query(async ({ ctx }) => {
    if (!ctx.principal) throw new ForbiddenError("A machine identity has no user profile");
    const user = await ctx.prisma.user.findUniqueOrThrow({
      where: { id: ctx.principal.userId },
      select: {
        id: true,
        email: true,
        firstName: true,
        lastName: true,
        memberships: {
          where: {
            status: "accepted",
            isActive: true,
            // A bearer token sees only the organization it is scoped to.
            ...(ctx.bearer ? { orgId: ctx.bearer.organizationId } : {}),
          },
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
    const { memberships, ...rest } = user;
    return {
      user: rest,
      organizations: memberships.map((m) => ({
        ...m.org,
        role: fromDbRole(m.role),
        membershipId: m.id,
        rules: rulesForRole(fromDbRole(m.role), m.customRole?.permissions),
      })),
      limits: { maxBulkDelete: ctx.maxBulkDelete, restoreWindowDays: getConfig().restoreWindowDays },
    };
  }),
});
