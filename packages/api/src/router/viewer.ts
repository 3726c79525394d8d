import { OrgRole } from "@roster/contract";
import { fromDbRole } from "@roster/db";
import { z } from "zod";
import { authedProcedure, createTRPCRouter } from "../trpc";

export const ViewerDto = z.object({
  user: z.object({
    id: z.uuid(),
    email: z.string(),
    firstName: z.string().nullable(),
    lastName: z.string().nullable(),
  }),
  organizations: z.array(
    z.object({ id: z.uuid(), slug: z.string(), name: z.string(), role: OrgRole, membershipId: z.uuid() }),
  ),
});

export const viewerRouter = createTRPCRouter({
  /** The signed-in user and the organizations where they hold an active membership. */
  me: authedProcedure.output(ViewerDto).query(async ({ ctx }) => {
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
          select: { id: true, role: true, org: { select: { id: true, slug: true, name: true } } },
          orderBy: { org: { name: "asc" } },
        },
      },
    });
    const { memberships, ...rest } = user;
    return {
      user: rest,
      organizations: memberships.map((m) => ({ ...m.org, role: fromDbRole(m.role), membershipId: m.id })),
    };
  }),
});
