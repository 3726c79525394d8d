// Permission rules `{ subject, actions[] }` for built-in and custom organization roles, and the
// two questions the contract asks of them: may the caller act (check 9), and do the caller's
// rules cover a target's (check 12, the privilege boundary, asked by every mutation of a principal).
import {
  type OrgRole,
  PERMISSION_ACTIONS,
  PERMISSION_SUBJECTS,
  type PermissionAction,
  type PermissionRule,
  PermissionRules,
  type PermissionSubject,
} from "@roster/contract";
import { PermissionBoundaryError } from "./errors";

const everything: PermissionRule[] = PERMISSION_SUBJECTS.map((subject) => ({
  subject,
  actions: [...PERMISSION_ACTIONS],
}));

export const BUILT_IN_ROLE_RULES: Record<Exclude<OrgRole, "custom">, PermissionRule[]> = {
  admin: everything,
  member: [{ subject: "member", actions: ["read"] }],
  "no-access": [],
};

/** The rules a membership holds: its built-in role's, or its custom role's stored rules. */
export function rulesForRole(role: OrgRole, customRulesJson: unknown): PermissionRule[] {
  if (role !== "custom") return BUILT_IN_ROLE_RULES[role];
  const parsed = PermissionRules.safeParse(customRulesJson);
  // A custom role whose stored rules do not parse grants nothing rather than something unknown.
  return parsed.success ? parsed.data : [];
}

export function can(rules: readonly PermissionRule[], action: PermissionAction, subject: PermissionSubject): boolean {
  return rules.some((r) => r.subject === subject && r.actions.includes(action));
}

/** The caller's rules for one subject, as `details` of a PermissionDenied answer. */
export function rulesForSubject(rules: readonly PermissionRule[], subject: PermissionSubject): PermissionRule[] {
  return rules.filter((r) => r.subject === subject);
}

/** True when every (subject, action) the target holds is held by the caller too. */
export function covers(callerRules: readonly PermissionRule[], targetRules: readonly PermissionRule[]): boolean {
  return targetRules.every((t) => t.actions.every((a) => can(callerRules, a, t.subject)));
}

/** The principal a mutation acts on, as a privilege boundary refusal names it. */
export type BoundaryTarget =
  | { kind: "member"; membershipId: string }
  /** A removed membership a restore would put back. */
  | { kind: "restore"; membershipId: string }
  | { kind: "identity"; identityId: string; name: string }
  /** The role a new principal would be given. */
  | { kind: "role" };

function boundaryMessage(target: BoundaryTarget): string {
  switch (target.kind) {
    case "member":
      return `Failed to remove member ${target.membershipId} from the organization: your privileges do not cover theirs`;
    case "restore":
      return `Failed to restore member ${target.membershipId} to the organization: your privileges do not cover theirs`;
    case "identity":
      return `Failed to act on identity ${target.name} (${target.identityId}): your privileges do not cover theirs`;
    case "role":
      return "Failed to assign the role: your privileges do not cover it";
  }
}

/**
 * The privilege boundary, the one rule every mutation of a principal applies (removing a member,
 * creating an identity, and each change to an identity, its secrets or its tokens): the caller
 * may act only on a target whose rules its own cover, or a caller allowed to edit could reach
 * powers it does not hold (minting an admin identity's secret, say). Null when covered, else the
 * 403 naming the target.
 */
export function privilegeBoundary(
  callerRules: readonly PermissionRule[],
  targetRules: readonly PermissionRule[],
  target: BoundaryTarget,
): PermissionBoundaryError | null {
  return covers(callerRules, targetRules) ? null : new PermissionBoundaryError(boundaryMessage(target));
}
