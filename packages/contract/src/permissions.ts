import { z } from "zod";

export const PERMISSION_SUBJECTS = ["member", "role", "project", "settings", "audit", "identity"] as const;
export const PERMISSION_ACTIONS = ["read", "create", "edit", "delete"] as const;

export const PermissionRule = z
  .object({
    subject: z.enum(PERMISSION_SUBJECTS),
    actions: z.array(z.enum(PERMISSION_ACTIONS)).min(1),
  })
  .strict();
export type PermissionRule = z.infer<typeof PermissionRule>;
export type PermissionSubject = PermissionRule["subject"];
export type PermissionAction = PermissionRule["actions"][number];

export const PermissionRules = z.array(PermissionRule);
