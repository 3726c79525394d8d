import { handleMetricsRequest } from "@roster/api/http";

export const dynamic = "force-dynamic";

/** Prometheus metrics for a scraper holding METRICS_TOKEN (404 when the setting is absent). */
export function GET(req: Request): Promise<Response> {
  return handleMetricsRequest(req);
}
