// The demo data manifest that `npm run -s db:seed -- --json` prints (spec: demo-data.md).
import { z } from "zod";
import { MembershipStatus, OrgRole, Uuid } from "./memberships";

export const ManifestMember = z
  .object({
    membershipId: Uuid,
    userId: Uuid.nullable(),
    email: z.string(),
    role: OrgRole,
    roleId: Uuid.nullable(),
    status: MembershipStatus,
    isActive: z.boolean(),
    accessToken: z.string().min(1).nullable(),
    projectMembershipIds: z.array(Uuid),
  })
  .strict();
export type ManifestMember = z.infer<typeof ManifestMember>;

export const ManifestIdentity = z
  .object({
    identityId: Uuid,
    name: z.string(),
    role: OrgRole,
    /** Universal Auth credentials: POST /api/v1/auth/universal-auth/login with these. */
    clientId: z.string(),
    clientSecret: z.string(),
  })
  .strict();
export type ManifestIdentity = z.infer<typeof ManifestIdentity>;

export const ManifestOrganization = z
  .object({
    id: Uuid,
    slug: z.string(),
    name: z.string(),
    projects: z.array(z.object({ id: Uuid, slug: z.string() }).strict()),
    customRoles: z.array(z.object({ id: Uuid, slug: z.string() }).strict()),
    members: z.array(ManifestMember),
    identities: z.array(ManifestIdentity),
  })
  .strict();
export type ManifestOrganization = z.infer<typeof ManifestOrganization>;

export const DemoManifest = z.object({ organizations: z.array(ManifestOrganization) }).strict();
export type DemoManifest = z.infer<typeof DemoManifest>;
