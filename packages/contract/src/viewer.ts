import { z } from "zod";
import { OrgRole, Uuid } from "./memberships";
import { PermissionRule } from "./permissions";

export const ViewerOrganization = z
  .object({
    id: Uuid,
    slug: z.string(),
    name: z.string(),
    role: OrgRole,
    membershipId: Uuid,
    /** The viewer's permission rules in this organization (the UI hides what they cannot do). */
    rules: z.array(PermissionRule),
  })
  .strict();
export type ViewerOrganization = z.infer<typeof ViewerOrganization>;

export const ViewerDto = z
  .object({
    user: z
      .object({ id: Uuid, email: z.string(), firstName: z.string().nullable(), lastName: z.string().nullable() })
      .strict(),
    organizations: z.array(ViewerOrganization),
    limits: z
      .object({
        maxBulkDelete: z.number().int().positive(),
        /** How many days a removal can be restored (RESTORE_WINDOW_DAYS; 0: never). */
        restoreWindowDays: z.number().int().nonnegative(),
      })
      .strict(),
  })
  .strict();
export type ViewerDto = z.infer<typeof ViewerDto>;
