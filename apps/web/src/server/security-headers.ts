// The security headers of every response, pages and API alike. The script policy is a per-request
// nonce with 'strict-dynamic' (Next.js reads the nonce from the request's policy and puts it on its
// own scripts; the scripts they load inherit the trust), so no inline script runs unless the
// server wrote it. Styles allow 'unsafe-inline': React renders `style` attributes, which a nonce
// cannot cover.

/** The request header that carries the nonce to pages that render their own scripts. */
export const NONCE_HEADER = "x-nonce";

/** A fresh nonce: 16 random bytes, base64. */
export function newNonce(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return btoa(String.fromCharCode(...bytes));
}

/** The policy for one response. */
export function contentSecurityPolicy(nonce: string, opts: { https: boolean }): string {
  const https = opts.https;
  return [
    "default-src 'self'",
    `script-src 'self' 'nonce-${nonce}' 'strict-dynamic'`,
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "worker-src 'self' blob:",
    "object-src 'none'",
    "base-uri 'self'",
    "form-action 'self'",
    // No page of Roster is meant to be shown inside another site's frame (clickjacking).
    "frame-ancestors 'none'",
    ...(https ? ["upgrade-insecure-requests"] : []),
  ].join("; ");
}

/** Every header but the policy's, for a server whose public URL is `publicUrl`. */
export function securityHeaders(publicUrl: string | undefined): Record<string, string> {
  const headers: Record<string, string> = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
  };
  // Only a server reached over https may ask browsers to insist on https (a year; the parent
  // domain's other hosts are not Roster's to speak for, so no includeSubDomains).
  if (isHttps(publicUrl)) headers["strict-transport-security"] = "max-age=31536000";
  return headers;
}

export function isHttps(publicUrl: string | undefined): boolean {
  return publicUrl?.toLowerCase().startsWith("https:") ?? false;
}
