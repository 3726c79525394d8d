import { buildOpenApiDocument } from "@roster/api";
import { getConfig } from "@roster/config";

export const dynamic = "force-dynamic";

export function GET(req: Request): Response {
  const doc = buildOpenApiDocument({ maxBulkDelete: getConfig().maxBulkDelete, serverUrl: new URL(req.url).origin });
  return Response.json(doc, { headers: { "cache-control": "no-store" } });
}
