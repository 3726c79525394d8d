"use client";

import Link from "next/link";
import { usePathname, useRouter } from "next/navigation";
import { useOrg } from "./org-context";
import { SignOutButton } from "./sign-out-button";

export function OrgHeader() {
  const { org, organizations, viewerEmail, can } = useOrg();
  const pathname = usePathname();
  const router = useRouter();
  const section = pathname.split("/")[3] ?? "members";
  const tabs = [
    { key: "members", label: "Members", show: can("read", "member") },
    { key: "identities", label: "Identities", show: can("read", "identity") },
    { key: "audit", label: "Audit", show: can("read", "audit") },
  ].filter((t) => t.show);

  return (
    <header className="border-b border-zinc-200 bg-white">
      <div className="mx-auto flex max-w-6xl flex-wrap items-center gap-x-4 gap-y-2 px-4 py-3">
        <Link href="/" className="text-lg font-semibold tracking-tight">
          Roster
        </Link>
        <label className="sr-only" htmlFor="org-switcher">
          Organization
        </label>
        <select
          id="org-switcher"
          className="input w-auto py-1.5"
          value={org.slug}
          onChange={(e) => router.push(`/orgs/${e.target.value}/${section}`)}
        >
          {organizations.map((o) => (
            <option key={o.id} value={o.slug}>
              {o.name}
            </option>
          ))}
        </select>
        <nav aria-label="Sections" className="flex gap-1">
          {tabs.map((t) => (
            <Link
              key={t.key}
              href={`/orgs/${org.slug}/${t.key}`}
              aria-current={section === t.key ? "page" : undefined}
              className={`btn-ghost ${section === t.key ? "bg-zinc-100 text-zinc-900" : ""}`}
            >
              {t.label}
            </Link>
          ))}
        </nav>
        <div className="ml-auto flex items-center gap-3">
          <span className="hidden text-sm text-zinc-500 sm:inline" data-testid="viewer-email">
            {viewerEmail}
          </span>
          <SignOutButton />
        </div>
      </div>
    </header>
  );
}
