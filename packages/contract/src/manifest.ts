// The demo data manifest that `npm run db:seed -- --json` prints (spec: demo-data.md).
import { z } from "zod";
import { MembershipStatus, OrgRole } from "./memberships";

export const ManifestMember = z
  .object({
    membershipId: z.uuid(),
    userId: z.uuid().nullable(),
    email: z.string(),
    role: OrgRole,
    roleId: z.uuid().nullable(),
    status: MembershipStatus,
    isActive: z.boolean(),
    accessToken: z.string().min(1).nullable(),
    projectMembershipIds: z.array(z.uuid()),
  })
  .strict();
export type ManifestMember = z.infer<typeof ManifestMember>;

export const ManifestOrganization = z
  .object({
    id: z.uuid(),
    slug: z.string(),
    name: z.string(),
    projects: z.array(z.object({ id: z.uuid(), slug: z.string() }).strict()),
    customRoles: z.array(z.object({ id: z.uuid(), slug: z.string() }).strict()),
    members: z.array(ManifestMember),
  })
  .strict();
export type ManifestOrganization = z.infer<typeof ManifestOrganization>;

export const DemoManifest = z.object({ organizations: z.array(ManifestOrganization) }).strict();
export type DemoManifest = z.infer<typeof DemoManifest>;
