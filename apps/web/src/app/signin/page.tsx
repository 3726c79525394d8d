import type { Metadata } from "next";
import { safeCallbackPath } from "@/lib/safe-callback";
import { publicOrigin } from "@/server/auth-options";
import { SignInForm } from "./sign-in-form";

export const dynamic = "force-dynamic";
export const metadata: Metadata = { title: "Sign in" };

export default async function SignInPage({
  searchParams,
}: {
  searchParams: Promise<Record<string, string | undefined>>;
}) {
  const params = await searchParams;
  return (
    <main className="flex min-h-screen items-center justify-center px-4">
      <div className="card w-full max-w-sm space-y-5 p-6">
        <div>
          <h1 className="text-xl font-semibold tracking-tight">Sign in to Roster</h1>
          <p className="text-sm text-zinc-500">Manage your organization's members.</p>
        </div>
        {params.expired ? (
          <p className="rounded-md bg-amber-50 px-3 py-2 text-sm text-amber-800" role="status">
            Your session has ended. Please sign in again.
          </p>
        ) : null}
        <SignInForm callbackUrl={safeCallbackPath(params.callbackUrl, publicOrigin())} />
      </div>
    </main>
  );
}
