// Runs before every request: gives it a fresh CSP nonce and puts the security headers on its
// response (pages, API routes and assets alike).
import { getConfig } from "@roster/config";
import { type NextRequest, NextResponse } from "next/server";
import { contentSecurityPolicy, isHttps, NONCE_HEADER, newNonce, securityHeaders } from "@/server/security-headers";

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
