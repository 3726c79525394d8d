import { ApiReference } from "@scalar/nextjs-api-reference";
import { NONCE_HEADER } from "@/server/security-headers";

// Rendered per request: its inline scripts carry the request's CSP nonce (see src/proxy.ts).
export const dynamic = "force-dynamic";

// The interactive reference, rendered in the browser from /api/openapi.json. Its script is served
// by this app (/docs/scalar.js) and it asks for no web fonts: it works with no network at all.
export async function GET(request: Request): Promise<Response> {
  const page = ApiReference({
    url: "/api/openapi.json",
    cdn: "/docs/scalar.js",
    pageTitle: "Roster API reference",
    withDefaultFonts: false,
    hideClientButton: true,
    nonce: request.headers.get(NONCE_HEADER) ?? undefined,
  })();
  // The app's own icon, as on every other page (else the browser asks for a /favicon.ico there is none of).
  const html = (await page.text()).replace(
    "</head>",
    '<link rel="icon" href="/icon.svg" type="image/svg+xml" />\n</head>',
  );
  return new Response(html, { status: page.status, headers: page.headers });
}
