/** A bearer token, or a function asked for it before each request (so it can be renewed). */
export type TokenSource = string | (() => string | Promise<string>);

export async function resolveToken(token: TokenSource): Promise<string> {
  return typeof token === "function" ? await token() : token;
}

export function trimBaseUrl(baseUrl: string): string {
  return baseUrl.replace(/\/+$/, "");
}
