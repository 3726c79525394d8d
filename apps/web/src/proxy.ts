// Runs before every page and asset request: gives it a fresh CSP nonce and puts the security
// headers on its response. API routes are not matched (but the sign-in library's, which render
// pages too): their headers need no nonce and are the same on every response, so the Node server
// in front of Next sets them (server.mjs), sparing each API request the proxy's own pass through
// Next (about 0.4 ms of CPU a request on a 2-core machine, measured in docs/performance.md).
import { getConfig } from "@roster/config";
import { type NextRequest, NextResponse } from "next/server";
import { contentSecurityPolicy, isHttps, NONCE_HEADER, newNonce, securityHeaders } from "../security-headers.mjs";

export function proxy(request: NextRequest): NextResponse {
  const publicUrl = getConfig().nextAuthUrl;
  const nonce = newNonce();
  const policy = contentSecurityPolicy(nonce, { https: isHttps(publicUrl) });
  // Next.js takes the nonce for its own scripts from the request's policy header.
  const requestHeaders = new Headers(request.headers);
  requestHeaders.set(NONCE_HEADER, nonce);
  requestHeaders.set("content-security-policy", policy);
  const response = NextResponse.next({ request: { headers: requestHeaders } });
  response.headers.set("content-security-policy", policy);
  for (const [name, value] of Object.entries(securityHeaders(publicUrl))) response.headers.set(name, value);
  return response;
}

// Every path but the API's (security-headers.mjs' isApiPath): not under /api/, or under /api/auth/.
export const config = { matcher: ["/((?!api/(?!auth/)).*)"] };
