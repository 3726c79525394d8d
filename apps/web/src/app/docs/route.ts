import { ApiReference } from "@scalar/nextjs-api-reference";
import { NONCE_HEADER } from "@/server/security-headers";

// Rendered per request: its inline scripts carry the request's CSP nonce (see src/proxy.ts).
export const dynamic = "force-dynamic";

// The interactive reference, rendered in the browser from /api/openapi.json. Its script is served
// by this app (/docs/scalar.js) and it asks for no web fonts: it works with no network at all.
export function GET(request: Request): Response {
  return ApiReference({
    url: "/api/openapi.json",
    cdn: "/docs/scalar.js",
    pageTitle: "Roster API reference",
    withDefaultFonts: false,
    hideClientButton: true,
    nonce: request.headers.get(NONCE_HEADER) ?? undefined,
  })();
}
