// Reads the next-auth session cookie (a JWT signed with AUTH_SECRET) into the claims the API's
// caller resolution takes. The session row behind it is checked on every request (check 3).
import type { WebSessionClaims } from "@roster/api";
import { getConfig } from "@roster/config";
import { decode } from "next-auth/jwt";

export const SESSION_COOKIES = ["__Secure-next-auth.session-token", "next-auth.session-token"];

export async function webSessionFromCookie(
  read: (name: string) => string | undefined,
): Promise<WebSessionClaims | null> {
  const raw = SESSION_COOKIES.map(read).find(Boolean);
  if (!raw) return null;
  try {
    const token = await decode({ token: raw, secret: getConfig().authSecret });
    const { userId, sessionId, accessVersion } = (token ?? {}) as Record<string, unknown>;
    if (typeof userId !== "string" || typeof sessionId !== "string" || typeof accessVersion !== "number") return null;
    return { userId, sessionId, accessVersion };
  } catch {
    return null;
  }
}

/** The Cookie header as a lookup function. A value that does not URL-decode is ignored (it is not ours). */
export function cookieReader(header: string | null): (name: string) => string | undefined {
  const jar = new Map<string, string>();
  for (const part of (header ?? "").split(";")) {
    const i = part.indexOf("=");
    if (i <= 0) continue;
    try {
      jar.set(part.slice(0, i).trim(), decodeURIComponent(part.slice(i + 1).trim()));
    } catch {
      // a malformed escape such as `a=%`: skip that cookie, keep reading the others
    }
  }
  return (name) => jar.get(name);
}
