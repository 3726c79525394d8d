import { SignOutButton } from "@/components/sign-out-button";
import { withSession } from "@/server/viewer";

export const dynamic = "force-dynamic";

export default async function HomePage() {
  const me = await withSession((caller) => caller.viewer.me());
  const name = [me.user.firstName, me.user.lastName].filter(Boolean).join(" ") || me.user.email;
  return (
    <main className="stack">
      <header style={{ display: "flex", justifyContent: "space-between", alignItems: "center" }}>
        <h1 style={{ margin: 0 }}>Roster</h1>
        <SignOutButton />
      </header>
      <section className="card stack" aria-labelledby="you">
        <h2 id="you" style={{ margin: 0 }}>
          Signed in as {name}
        </h2>
        <p className="muted" data-testid="viewer-email">
          {me.user.email}
        </p>
      </section>
      <section className="card stack" aria-labelledby="orgs">
        <h2 id="orgs" style={{ margin: 0 }}>
          Your organizations
        </h2>
        {me.organizations.length === 0 ? (
          <p className="muted">You are not an active member of any organization.</p>
        ) : (
          <table>
            <thead>
              <tr>
                <th>Organization</th>
                <th>Slug</th>
                <th>Your role</th>
              </tr>
            </thead>
            <tbody>
              {me.organizations.map((org) => (
                <tr key={org.id} data-testid="organization-row">
                  <td>{org.name}</td>
                  <td>{org.slug}</td>
                  <td>{org.role}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
    </main>
  );
}
