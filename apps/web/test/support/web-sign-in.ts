// Signing in the way the browser does, over next-auth's own HTTP endpoints on a running app: a
// cookie jar, the CSRF token, and the credentials callback (with next-auth's `json` answer).
import { expect } from "vitest";

export const SESSION_COOKIE = "next-auth.session-token";

/** A minimal cookie jar: name -> value, fed from Set-Cookie, sent as one Cookie header. */
export type Jar = Map<string, string>;

export function store(jar: Jar, res: Response): Jar {
  for (const line of res.headers.getSetCookie()) {
    const pair = line.split(";")[0] ?? "";
    const i = pair.indexOf("=");
    if (i <= 0) continue;
    const name = pair.slice(0, i).trim();
    const value = pair.slice(i + 1).trim();
    const expired = /;\s*max-age=0/i.test(line) || /;\s*expires=Thu, 01 Jan 1970/i.test(line);
    if (expired || value === "") jar.delete(name);
    else jar.set(name, value);
  }
  return jar;
}

export const cookieHeader = (jar: Jar) => [...jar].map(([name, value]) => `${name}=${value}`).join("; ");

/** next-auth's CSRF token, and the jar holding its cookie. */
export async function csrf(
  base: string,
  jar: Jar = new Map(),
  headers: Record<string, string> = {},
): Promise<{ jar: Jar; csrfToken: string }> {
  const res = await fetch(`${base}/api/auth/csrf`, { headers: { ...headers, cookie: cookieHeader(jar) } });
  expect(res.status).toBe(200);
  const { csrfToken } = (await res.json()) as { csrfToken: string };
  expect(csrfToken).toMatch(/^[0-9a-f]{32,}$/);
  return { jar: store(jar, res), csrfToken };
}

export async function postForm(
  base: string,
  path: string,
  jar: Jar,
  form: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<Response> {
  const res = await fetch(`${base}${path}`, {
    method: "POST",
    redirect: "manual",
    headers: { ...headers, "content-type": "application/x-www-form-urlencoded", cookie: cookieHeader(jar) },
    body: new URLSearchParams(form).toString(),
  });
  store(jar, res);
  return res;
}

export interface SignInOptions {
  /** Extra request headers (for example X-Forwarded-For on a server that trusts a proxy). */
  headers?: Record<string, string>;
  /** Default: the app's home page. */
  callbackUrl?: string;
}

/** Posts the credentials as next-auth's client does (`json: true`): the answer and the session cookie, if any. */
export async function signInOver(base: string, email: string, password: string, opts: SignInOptions = {}) {
  const headers = opts.headers ?? {};
  const { jar, csrfToken } = await csrf(base, new Map(), headers);
  const res = await postForm(
    base,
    "/api/auth/callback/credentials",
    jar,
    { csrfToken, email, password, callbackUrl: opts.callbackUrl ?? `${base}/`, json: "true" },
    headers,
  );
  const text = await res.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // not JSON: left empty
  }
  return { res, body, jar, sessionCookie: jar.get(SESSION_COOKIE) };
}
