import { getLogger } from "../logger";
import { observeRequest } from "../metrics";

const METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

/**
 * The one structured line per request: no headers, no bodies, so no token ever reaches the log.
 * The same place counts the request in the metrics, by its route (a template, never the URL).
 */
export function logRequest(entry: {
  reqId: string;
  method: string;
  route: string;
  /** The path as sent, without its query. */
  path?: string;
  status: number;
  started: number;
  callerId: string | null;
  err?: unknown;
  /** An answer replayed under an Idempotency-Key: the request that made it. */
  replayOf?: string | undefined;
}): void {
  const elapsedMs = performance.now() - entry.started;
  observeRequest(METHODS.has(entry.method) ? entry.method : "other", entry.route, entry.status, elapsedMs / 1000);
  const line = {
    reqId: entry.reqId,
    method: entry.method,
    route: entry.route,
    ...(entry.path ? { path: entry.path } : {}),
    status: entry.status,
    durationMs: Math.round(elapsedMs * 10) / 10,
    callerId: entry.callerId,
    ...(entry.replayOf ? { replayOf: entry.replayOf } : {}),
    ...(entry.err ? { err: entry.err } : {}),
  };
  if (entry.status >= 500) getLogger().error(line, "request failed");
  else getLogger().info(line, "request");
}
