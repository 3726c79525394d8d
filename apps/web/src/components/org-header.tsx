"use client";

import Link from "next/link";
import { usePathname, useRouter } from "next/navigation";
import { useOrg } from "./org-context";
import { SignOutButton } from "./sign-out-button";

export function OrgHeader() {
  const { org, organizations, viewerEmail, can } = useOrg();
  // Null only on the Pages Router's pages (the app serves API routes from there, no page).
  const pathname = usePathname() ?? "/";
  const router = useRouter();
  const section = pathname.split("/")[3] ?? "members";
  const tabs = [
    { key: "members", label: "Members", show: can("read", "member") },
    { key: "identities", label: "Identities", show: can("read", "identity") },
    { key: "audit", label: "Audit", show: can("read", "audit") },
  ].filter((t) => t.show);

  return (
    <header className="border-b border-zinc-200 bg-white">
      {/* Two rows at most on a phone: the name, organization and who is signed in (the email
          truncated if it must be, never hidden) on the first; the sections and Sign out on the
          second. From `sm` up the second row's wrapper dissolves into one line. */}
      <div className="mx-auto flex max-w-6xl flex-wrap items-center gap-x-3 gap-y-2 px-4 py-3 sm:flex-nowrap sm:gap-x-4">
        <Link href="/" className="shrink-0 text-lg font-semibold tracking-tight">
          Roster
        </Link>
        <label className="sr-only" htmlFor="org-switcher">
          Organization
        </label>
        <select
          id="org-switcher"
          className="input w-auto max-w-40 shrink-0 py-1.5"
          value={org.slug}
          onChange={(e) => router.push(`/orgs/${e.target.value}/${section}`)}
        >
          {organizations.map((o) => (
            <option key={o.id} value={o.slug}>
              {o.name}
            </option>
          ))}
        </select>
        <span
          className="min-w-0 flex-1 truncate text-right text-sm text-zinc-500 sm:order-2"
          title={viewerEmail}
          data-testid="viewer-email"
        >
          {viewerEmail}
        </span>
        <div className="flex w-full items-center gap-3 sm:contents">
          <nav aria-label="Sections" className="flex gap-1 sm:order-1">
            {tabs.map((t) => (
              <Link
                key={t.key}
                href={`/orgs/${org.slug}/${t.key}`}
                aria-current={section === t.key ? "page" : undefined}
                className={`btn-ghost px-2.5 sm:px-3.5 ${section === t.key ? "bg-zinc-100 text-zinc-900" : ""}`}
              >
                {t.label}
              </Link>
            ))}
          </nav>
          <div className="ml-auto shrink-0 sm:order-3 sm:ml-0">
            <SignOutButton />
          </div>
        </div>
      </div>
    </header>
  );
}
