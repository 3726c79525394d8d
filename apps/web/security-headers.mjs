// The security headers of every response. Plain JavaScript, so that both the proxy (bundled by
// Next.js, for pages and assets) and the Node server in front of Next (server.mjs, for API routes)
// use the same ones.
//
// Pages: the script policy is a per-request nonce with 'strict-dynamic' (Next.js reads the nonce
// from the request's policy and puts it on its own scripts; the scripts they load inherit the
// trust), so no inline script runs unless the server wrote it. Styles allow 'unsafe-inline': React
// renders `style` attributes, which a nonce cannot cover.
//
// API routes answer data, never a document to render: their policy allows nothing at all, so the
// same headers serve every API response and need no nonce (nor the proxy's work per request).

/** The request header that carries the nonce to pages that render their own scripts. */
export const NONCE_HEADER = "x-nonce";

/**
 * The paths whose answers are data: everything under /api/ but the sign-in library's own routes
 * (/api/auth/), which also render pages of their own (the sign-out confirmation, errors) with
 * inline styles, and so keep the pages' policy.
 */
export function isApiPath(pathname) {
  return pathname.startsWith("/api/") && !pathname.startsWith("/api/auth/");
}

/** A fresh nonce: 16 random bytes, base64. */
export function newNonce() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return btoa(String.fromCharCode(...bytes));
}

/** The policy for one page's response. */
export function contentSecurityPolicy(nonce, opts) {
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
    ...(opts.https ? ["upgrade-insecure-requests"] : []),
  ].join("; ");
}

/** The policy of every API response: nothing may load, run or frame it. */
export const API_CONTENT_SECURITY_POLICY = "default-src 'none'; frame-ancestors 'none'";

/** Every header but the policy's, for a server whose public URL is `publicUrl`. */
export function securityHeaders(publicUrl) {
  const headers = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
  };
  // Only a server reached over https may ask browsers to insist on https (a year; the parent
  // domain's other hosts are not Roster's to speak for, so no includeSubDomains).
  if (isHttps(publicUrl)) headers["strict-transport-security"] = "max-age=31536000";
  return headers;
}

/** Every header of an API response, policy included. */
export function apiSecurityHeaders(publicUrl) {
  return { "content-security-policy": API_CONTENT_SECURITY_POLICY, ...securityHeaders(publicUrl) };
}

export function isHttps(publicUrl) {
  return publicUrl?.toLowerCase().startsWith("https:") ?? false;
}
