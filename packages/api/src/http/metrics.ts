// GET /api/metrics: the Prometheus exposition, for a scraper holding METRICS_TOKEN. Without the
// setting the route does not exist (404), so an instance never exposes its metrics by default.
import { createHash, timingSafeEqual } from "node:crypto";
import { getConfig } from "@roster/config";
import { NotFoundError, UnauthorizedError } from "../errors";
import { scrape } from "../metrics";
import { newRequestId } from "../request-id";
import { logRequest } from "./log";
import { errorResponse } from "./rest";

export const METRICS_ROUTE = "/api/metrics";

/** Compared as digests: equal lengths for timingSafeEqual, and no early exit on the first difference. */
function sameToken(given: string, expected: string): boolean {
  const digest = (v: string) => createHash("sha256").update(v).digest();
  return timingSafeEqual(digest(given), digest(expected));
}

export async function handleMetricsRequest(req: Request): Promise<Response> {
  const started = performance.now();
  const reqId = newRequestId();
  const expected = getConfig().metricsToken;
  let response: Response;
  if (!expected) {
    response = errorResponse(new NotFoundError("Not found"), reqId);
  } else {
    const header = req.headers.get("authorization") ?? "";
    const match = /^Bearer ([\x21-\x7e]{1,1024})$/.exec(header);
    if (!match) {
      response = errorResponse(new UnauthorizedError("Token missing"), reqId);
    } else if (!sameToken(match[1] as string, expected)) {
      response = errorResponse(new UnauthorizedError("Invalid metrics token"), reqId);
    } else {
      const { contentType, body } = await scrape();
      response = new Response(body, {
        headers: { "content-type": contentType, "x-request-id": reqId, "cache-control": "no-store" },
      });
    }
  }
  logRequest({
    reqId,
    method: req.method,
    route: METRICS_ROUTE,
    path: new URL(req.url).pathname,
    status: response.status,
    started,
    callerId: null,
  });
  return response;
}
