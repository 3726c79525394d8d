import { getConfig } from "@roster/config";
import { ViewerDto } from "@roster/contract";
import { ForbiddenError } from "../errors";
import { viewerOf } from "../services/viewer";
import { authedProcedure, createTRPCRouter } from "../trpc";

export const viewerRouter = createTRPCRouter({
  /** The signed-in user and the organizations where they hold an active membership. */
  me: authedProcedure.output(ViewerDto).query(({ ctx }) => {
    if (!ctx.principal) throw new ForbiddenError("A machine identity has no user profile");
    return viewerOf(ctx.prisma, ctx.principal.userId, ctx.bearer?.organizationId ?? null, {
      maxBulkDelete: ctx.maxBulkDelete,
      restoreWindowDays: getConfig().restoreWindowDays,
    });
  }),
});
