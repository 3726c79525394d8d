import { getLogger } from "../logger";

/** The one structured line per request: no headers, no bodies, so no token ever reaches the log. */
export function logRequest(entry: {
  reqId: string;
  method: string;
  route: string;
  url?: string;
  status: number;
  started: number;
  callerId: string | null;
  err?: unknown;
}): void {
  const line = {
    reqId: entry.reqId,
    method: entry.method,
    route: entry.route,
    ...(entry.url ? { path: new URL(entry.url).pathname } : {}),
    status: entry.status,
    durationMs: Math.round((performance.now() - entry.started) * 10) / 10,
    callerId: entry.callerId,
    ...(entry.err ? { err: entry.err } : {}),
  };
  if (entry.status >= 500) getLogger().error(line, "request failed");
  else getLogger().info(line, "request");
}
