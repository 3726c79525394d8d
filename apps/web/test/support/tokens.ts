// Tokens made by hand: any header, claims and signature, or a real token's claims changed and
// signed again with the server's secret. (Reading a token's claims is @roster/api/testing's claimsOf.)
import { createHmac } from "node:crypto";
import { claimsOf } from "@roster/api/testing";
import { getConfig } from "@roster/config";

export const serverSecret = (): string => getConfig().authSecret;

const b64url = (s: string) => Buffer.from(s).toString("base64url");

type Hmac = { hash: "sha256" | "sha384" | "sha512"; secret: string };

/** A JWT with any header, claims and HMAC (or no signature when `hmac` is null). */
export function signJwt(header: Record<string, unknown>, claims: Record<string, unknown>, hmac: Hmac | null): string {
  const signingInput = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  const signature = hmac ? createHmac(hmac.hash, hmac.secret).update(signingInput).digest("base64url") : "";
  return `${signingInput}.${signature}`;
}

type ForgeOptions = { alg?: string; hmac?: Hmac | null };

/**
 * `base`'s claims (a real token's, bare or as `Bearer <token>`), changed by `patch` (an undefined
 * value removes the claim), signed HS256 with the server's secret unless told otherwise.
 */
export function forgeToken(base: string, patch: Record<string, unknown> = {}, opts: ForgeOptions = {}): string {
  const claims = { ...claimsOf(base), ...patch };
  for (const [k, v] of Object.entries(patch)) if (v === undefined) delete claims[k];
  const hmac = opts.hmac === undefined ? { hash: "sha256" as const, secret: serverSecret() } : opts.hmac;
  return signJwt({ alg: opts.alg ?? "HS256", typ: "JWT" }, claims, hmac);
}

/** `forgeToken` as an Authorization header. */
export const forgeBearer = (base: string, patch: Record<string, unknown> = {}, opts: ForgeOptions = {}): string =>
  `Bearer ${forgeToken(base, patch, opts)}`;
