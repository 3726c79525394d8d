import { buildOpenApiDocument, renderApiReference } from "@roster/api";
import { getConfig } from "@roster/config";

export const dynamic = "force-dynamic";

// The API reference: the OpenAPI document rendered on the server into one page with no script and
// no outside resource, so everything on it works offline. Its security headers are every page's
// (src/proxy.ts).
export function GET(req: Request): Response {
  const origin = new URL(req.url).origin;
  const doc = buildOpenApiDocument({ maxBulkDelete: getConfig().maxBulkDelete, serverUrl: origin });
  return new Response(renderApiReference(doc, origin), {
    headers: {
      "content-type": "text/html; charset=utf-8",
      "cache-control": "no-store",
    },
  });
}
