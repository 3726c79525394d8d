/** A bearer token, or a function asked for it before each request (so it can be renewed). */
export type TokenSource = string | (() => string | Promise<string>);

export async function resolveToken(token: TokenSource): Promise<string> {
  return typeof token === "function" ? await token() : token;
}

export function trimBaseUrl(baseUrl: string): string {
  return baseUrl.replace(/\/+$/, "");
}

type Env = Record<string, string | undefined>;

/**
 * Where Roster runs when the caller does not say: `ROSTER_URL`, else `http://localhost:$PORT` (the
 * port the server itself reads), else `http://localhost:3000`.
 */
export function defaultBaseUrl(env: Env = typeof process === "undefined" ? {} : process.env): string {
  const url = env.ROSTER_URL?.trim();
  if (url) return trimBaseUrl(url);
  const port = env.PORT?.trim();
  if (port && /^\d{1,5}$/.test(port) && Number(port) > 0 && Number(port) <= 65535)
    return `http://localhost:${Number(port)}`;
  return "http://localhost:3000";
}
