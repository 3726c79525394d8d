import { notFound } from "next/navigation";
import type { ReactNode } from "react";
import { OrgProvider } from "@/components/org-context";
import { OrgHeader } from "@/components/org-header";
import { withSession } from "@/server/viewer";

export const dynamic = "force-dynamic";

export default async function OrgLayout({
  children,
  params,
}: {
  children: ReactNode;
  params: Promise<{ slug: string }>;
}) {
  const { slug } = await params;
  const me = await withSession((caller) => caller.viewer.me());
  const org = me.organizations.find((o) => o.slug === slug);
  if (!org) notFound();
  return (
    <OrgProvider
      value={{
        org,
        organizations: me.organizations,
        viewerEmail: me.user.email,
        maxBulkDelete: me.limits.maxBulkDelete,
        restoreWindowDays: me.limits.restoreWindowDays,
      }}
    >
      <OrgHeader />
      <main className="mx-auto max-w-6xl px-4 py-6">{children}</main>
    </OrgProvider>
  );
}
