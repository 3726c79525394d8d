import {
  CreateClientSecretInput,
  CreatedClientSecret,
  CreateIdentityInput,
  IdentityDto,
  IdentityRef,
} from "@roster/contract";
import { z } from "zod";
import {
  createClientSecret,
  createIdentity,
  deleteIdentity,
  listIdentities,
  revokeClientSecret,
  revokeIdentityToken,
} from "../services/identities";
import { createTRPCRouter, orgProcedure } from "../trpc";

const OrgOnly = z.object({ organizationId: IdentityRef.shape.organizationId }).strict();
const ok = z.object({ ok: z.literal(true) }).strict();
const can = (action: "read" | "create" | "edit" | "delete") => ({ action, subject: "identity" }) as const;

export const identitiesRouter = createTRPCRouter({
  list: orgProcedure(OrgOnly, can("read"))
    .output(z.object({ identities: z.array(IdentityDto) }).strict())
    .query(async ({ ctx }) => ({ identities: await listIdentities(ctx.prisma, ctx.caller.organizationId) })),

  create: orgProcedure(CreateIdentityInput, can("create"))
    .output(IdentityDto)
    .mutation(({ ctx, input }) => createIdentity(ctx.prisma, ctx.caller, input)),

  /** The plain secret is in this answer only: it is stored hashed. */
  createClientSecret: orgProcedure(CreateClientSecretInput, can("edit"))
    .output(CreatedClientSecret)
    .mutation(({ ctx, input }) => createClientSecret(ctx.prisma, ctx.caller, input)),

  revokeClientSecret: orgProcedure(
    IdentityRef.extend({ clientSecretId: IdentityRef.shape.identityId }).strict(),
    can("edit"),
  )
    .output(ok)
    .mutation(async ({ ctx, input }) => {
      await revokeClientSecret(ctx.prisma, ctx.caller, input.identityId, input.clientSecretId);
      return { ok: true as const };
    }),

  revokeAccessToken: orgProcedure(IdentityRef.extend({ tokenId: IdentityRef.shape.identityId }).strict(), can("edit"))
    .output(ok)
    .mutation(async ({ ctx, input }) => {
      await revokeIdentityToken(ctx.prisma, ctx.caller, input.identityId, input.tokenId);
      return { ok: true as const };
    }),

  delete: orgProcedure(IdentityRef, can("delete"))
    .output(ok)
    .mutation(async ({ ctx, input }) => {
      await deleteIdentity(ctx.prisma, ctx.caller, input.identityId);
      return { ok: true as const };
    }),
});
