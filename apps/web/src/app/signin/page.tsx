import { SignInForm } from "./sign-in-form";

export const dynamic = "force-dynamic";

export default async function SignInPage({
  searchParams,
}: {
  searchParams: Promise<Record<string, string | undefined>>;
}) {
  const params = await searchParams;
  return (
    <main style={{ maxWidth: 420 }}>
      <div className="card stack">
        <h1 style={{ margin: 0 }}>Sign in to Roster</h1>
        {params.expired ? (
          <p className="error" role="status">
            Your session has ended. Please sign in again.
          </p>
        ) : null}
        <SignInForm callbackUrl={safeCallback(params.callbackUrl)} />
      </div>
    </main>
  );
}

/** Only same-site paths: never send a signed-in user to another origin. */
function safeCallback(url: string | undefined): string {
  return url?.startsWith("/") && !url.startsWith("//") ? url : "/";
}
