import { z } from "zod";
import { OrgRole } from "./memberships";
import { PermissionRule } from "./permissions";

export const ViewerOrganization = z
  .object({
    id: z.uuid(),
    slug: z.string(),
    name: z.string(),
    role: OrgRole,
    membershipId: z.uuid(),
    /** The viewer's permission rules in this organization (the UI hides what they cannot do). */
    rules: z.array(PermissionRule),
  })
  .strict();
export type ViewerOrganization = z.infer<typeof ViewerOrganization>;

export const ViewerDto = z
  .object({
    user: z
      .object({ id: z.uuid(), email: z.string(), firstName: z.string().nullable(), lastName: z.string().nullable() })
      .strict(),
    organizations: z.array(ViewerOrganization),
    limits: z.object({ maxBulkDelete: z.number().int().positive() }).strict(),
  })
  .strict();
export type ViewerDto = z.infer<typeof ViewerDto>;
