import type { ListedMembership, OrgRole } from "@roster/contract";

export function StatusBadge({ m }: { m: Pick<ListedMembership, "status" | "isActive"> }) {
  if (m.status === "invited")
    return <span className="badge bg-amber-50 text-amber-800 ring-amber-600/20">Invited</span>;
  if (!m.isActive) return <span className="badge bg-zinc-100 text-zinc-600 ring-zinc-500/20">Inactive</span>;
  return <span className="badge bg-emerald-50 text-emerald-700 ring-emerald-600/20">Active</span>;
}

export const ROLE_LABELS: Record<OrgRole, string> = {
  admin: "Admin",
  member: "Member",
  "no-access": "No access",
  custom: "Custom",
};

export function RoleLabel({ role }: { role: string }) {
  return (
    <span className={role === "admin" ? "font-medium text-zinc-900" : "text-zinc-700"}>
      {ROLE_LABELS[role as OrgRole] ?? role}
    </span>
  );
}

/** The member's name; null for an invite (no account yet, so no name: only its email). */
export function memberName(m: {
  user: { firstName: string | null; lastName: string | null; email: string } | null;
  inviteEmail: string | null;
}): string | null {
  if (!m.user) return null;
  const name = [m.user.firstName, m.user.lastName].filter(Boolean).join(" ");
  return name || m.user.email;
}

/** What the name column shows: the name, or a muted "Invited" rather than the email again. */
export function MemberName({ name }: { name: string | null }) {
  return name === null ? <span className="font-normal text-zinc-400">Invited</span> : name;
}

export function memberEmail(m: { user: { email: string } | null; inviteEmail: string | null }): string {
  return m.user?.email ?? m.inviteEmail ?? "";
}

const dateFormat = new Intl.DateTimeFormat("en", { dateStyle: "medium", timeStyle: "short", timeZone: "UTC" });

export function formatTime(iso: string | null): string {
  return iso ? `${dateFormat.format(new Date(iso))} UTC` : "Never";
}
