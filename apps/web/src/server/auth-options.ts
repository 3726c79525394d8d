import { AsyncLocalStorage } from "node:async_hooks";
import { clientIp } from "@roster/api";
import { revokeSession, signInWithPassword } from "@roster/api/auth";
import { getConfig } from "@roster/config";
import { getDb } from "@roster/db";
import type { NextAuthOptions } from "next-auth";
import CredentialsProvider from "next-auth/providers/credentials";
import { safeCallbackPath } from "@/lib/safe-callback";

const DAY = 24 * 60 * 60;

// next-auth keeps the sign-in in a signed cookie; each sign-in also creates a server-side session
// row, which sign-out revokes and every request checks, so a revoked session logs the UI out.
let cached: NextAuthOptions | undefined;

/** Built on first use: importing this module (as `next build` does) reads no configuration. */
export function getAuthOptions(): NextAuthOptions {
  cached ??= buildAuthOptions();
  return cached;
}

/** The app's public origin (NEXTAUTH_URL), when configured. */
export function publicOrigin(): string | undefined {
  const url = getConfig().nextAuthUrl;
  return url ? new URL(url).origin : undefined;
}

// next-auth 4 answers every error thrown in `authorize` with a 401 and an error page URL. A locked
// account must get a real 429 with Retry-After, so `authorize` records the refusal here and the
// route handler (which runs next-auth inside this scope) replaces next-auth's answer.
interface Refusal {
  errorName: string;
  message: string;
  headers: Record<string, string>;
}
const signInScope = new AsyncLocalStorage<{ refused?: Refusal }>();

/** The api package's RateLimitError, recognised by shape (a bundle may hold its own copy of the class). */
const isRateLimited = (err: unknown): err is Refusal =>
  (err as { status?: unknown } | null)?.status === 429 && typeof (err as Refusal).headers === "object";

/** The error code the sign-in form reads from next-auth's answer: `RateLimitExceeded:<seconds>`. */
const RATE_LIMITED_PREFIX = "RateLimitExceeded:";

/** Runs next-auth's handler; a throttled sign-in becomes a 429 that next-auth's client can still read. */
export async function withSignInThrottle(req: Request, run: () => Promise<Response>): Promise<Response> {
  const scope: { refused?: Refusal } = {};
  const res = await signInScope.run(scope, run);
  if (!scope.refused) return res;
  const retryAfter = scope.refused.headers["Retry-After"] ?? "1";
  const errorUrl = new URL("/api/auth/error", req.url);
  errorUrl.searchParams.set("error", `${RATE_LIMITED_PREFIX}${retryAfter}`);
  const headers = new Headers({
    "content-type": "application/json; charset=utf-8",
    "retry-after": retryAfter,
    "cache-control": "no-store",
  });
  for (const cookie of res.headers.getSetCookie()) headers.append("set-cookie", cookie);
  // `url` is what next-auth's signIn() reads; `error` and `message` are the contract's envelope.
  return new Response(
    JSON.stringify({ url: errorUrl.toString(), error: scope.refused.errorName, message: scope.refused.message }),
    { status: 429, headers },
  );
}

const buildAuthOptions = (): NextAuthOptions => ({
  secret: getConfig().authSecret,
  session: { strategy: "jwt", maxAge: DAY },
  pages: { signIn: "/signin" },
  providers: [
    CredentialsProvider({
      name: "Email and password",
      credentials: {
        email: { label: "Email", type: "email" },
        password: { label: "Password", type: "password" },
      },
      async authorize(credentials, req) {
        const headers = new Headers(req.headers as Record<string, string>);
        let signedIn: Awaited<ReturnType<typeof signInWithPassword>>;
        try {
          signedIn = await signInWithPassword(
            await getDb(),
            { email: credentials?.email, password: credentials?.password },
            { ip: clientIp(headers), userAgent: headers.get("user-agent") },
          );
        } catch (err) {
          const scope = signInScope.getStore();
          if (isRateLimited(err) && scope) scope.refused = err;
          throw err;
        }
        if (!signedIn) return null;
        return {
          id: signedIn.userId,
          email: signedIn.email,
          name: signedIn.name,
          sessionId: signedIn.sessionId,
          accessVersion: signedIn.accessVersion,
        };
      },
    }),
  ],
  callbacks: {
    // Only same-origin paths, whatever callbackUrl a link carried.
    redirect({ url, baseUrl }) {
      return `${baseUrl}${safeCallbackPath(url, baseUrl)}`;
    },
    jwt({ token, user }) {
      if (user) {
        const u = user as typeof user & { sessionId: string; accessVersion: number };
        token.userId = u.id;
        token.sessionId = u.sessionId;
        token.accessVersion = u.accessVersion;
      }
      return token;
    },
    session({ session, token }) {
      // Only what the browser needs: the session id stays inside the signed cookie.
      return { ...session, user: { name: token.name ?? null, email: token.email ?? null } };
    },
  },
  events: {
    async signOut({ token }) {
      const sessionId = (token as { sessionId?: unknown } | null)?.sessionId;
      if (typeof sessionId === "string") await revokeSession(await getDb(), sessionId);
    },
  },
});
