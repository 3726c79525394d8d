import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import type { WebSessionClaims } from "../context";
import { createContextFromRequest } from "../context";
import { appRouter } from "../root";
import { logRequest } from "./log";
import { newRequestId } from "../request-id";

/** Serves tRPC at /api/trpc (plain JSON, no transformer), one log line per request. */
export async function handleTrpcRequest(
  req: Request,
  opts: { webSession: () => Promise<WebSessionClaims | null> },
): Promise<Response> {
  const started = performance.now();
  const reqId = newRequestId();
  const requestLog = { callerId: null as string | null };
  const response = await fetchRequestHandler({
    endpoint: "/api/trpc",
    req,
    router: appRouter,
    createContext: async () =>
      createContextFromRequest({
        headers: req.headers,
        reqId,
        requestLog,
        webSession: req.headers.get("authorization") ? null : await opts.webSession(),
      }),
    responseMeta: () => ({ headers: new Headers({ "x-request-id": reqId }) }),
  });
  logRequest({ reqId, method: req.method, route: "/api/trpc", url: req.url, status: response.status, started, callerId: requestLog.callerId });
  return response;
}
