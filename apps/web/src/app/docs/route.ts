import { ApiReference } from "@scalar/nextjs-api-reference";

export const dynamic = "force-static";

// The interactive reference, rendered in the browser from /api/openapi.json. Its script is served
// by this app (/docs/scalar.js) and it asks for no web fonts: it works with no network at all.
export const GET = ApiReference({
  url: "/api/openapi.json",
  cdn: "/docs/scalar.js",
  pageTitle: "Roster API reference",
  withDefaultFonts: false,
  hideClientButton: true,
});
