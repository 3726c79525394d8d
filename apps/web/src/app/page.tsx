import Link from "next/link";
import { SignOutButton } from "@/components/sign-out-button";
import { withSession } from "@/server/viewer";

export const dynamic = "force-dynamic";

export default async function HomePage() {
  const me = await withSession((caller) => caller.viewer.me());
  const name = [me.user.firstName, me.user.lastName].filter(Boolean).join(" ") || me.user.email;
  return (
    <>
      <header className="border-b border-zinc-200 bg-white">
        <div className="mx-auto flex max-w-4xl items-center justify-between px-4 py-3">
          <span className="text-lg font-semibold tracking-tight">Roster</span>
          <SignOutButton />
        </div>
      </header>
      <main className="mx-auto max-w-4xl space-y-6 px-4 py-8">
        <section aria-labelledby="you">
          <h1 id="you" className="text-2xl font-semibold tracking-tight">
            Signed in as {name}
          </h1>
          <p className="text-sm text-zinc-500" data-testid="viewer-email">
            {me.user.email}
          </p>
        </section>
        <section className="card" aria-labelledby="orgs">
          <h2 id="orgs" className="border-b border-zinc-200 px-4 py-3 font-medium">
            Your organizations
          </h2>
          {me.organizations.length === 0 ? (
            <p className="px-4 py-6 text-sm text-zinc-500">You are not an active member of any organization.</p>
          ) : (
            <ul className="divide-y divide-zinc-100">
              {me.organizations.map((org) => (
                <li key={org.id} data-testid="organization-row">
                  <Link
                    href={`/orgs/${org.slug}/members`}
                    className="flex items-center justify-between px-4 py-3 hover:bg-zinc-50"
                  >
                    <span>
                      <span className="font-medium">{org.name}</span>
                      <span className="ml-2 text-sm text-zinc-500">{org.slug}</span>
                    </span>
                    <span className="text-sm text-zinc-600">{org.role}</span>
                  </Link>
                </li>
              ))}
            </ul>
          )}
        </section>
      </main>
    </>
  );
}
