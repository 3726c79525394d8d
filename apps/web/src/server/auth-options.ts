import { clientIp } from "@roster/api";
import { revokeSession, signInWithPassword } from "@roster/api/auth";
import { getConfig } from "@roster/config";
import { getDb } from "@roster/db";
import type { NextAuthOptions } from "next-auth";
import CredentialsProvider from "next-auth/providers/credentials";

const DAY = 24 * 60 * 60;

// next-auth keeps the sign-in in a signed cookie; each sign-in also creates a server-side session
// row, which sign-out revokes and every request checks, so a revoked session logs the UI out.
let cached: NextAuthOptions | undefined;

/** Built on first use: importing this module (as `next build` does) reads no configuration. */
export function getAuthOptions(): NextAuthOptions {
  cached ??= buildAuthOptions();
  return cached;
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
        const signedIn = await signInWithPassword(
          await getDb(),
          { email: credentials?.email, password: credentials?.password },
          { ip: clientIp(headers), userAgent: headers.get("user-agent") },
        );
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
