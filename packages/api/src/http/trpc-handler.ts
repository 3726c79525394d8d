import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import type { WebSessionClaims } from "../context";
import { createContextFromRequest } from "../context";
import { AppError } from "../errors";
import { newRequestId } from "../request-id";
import { appRouter } from "../root";
import { logRequest } from "./log";

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
    responseMeta: ({ errors }) => {
      const headers = new Headers({ "x-request-id": reqId });
      // A failure's own headers go out with it (WWW-Authenticate on every 401, as the contract says).
      for (const error of errors) {
        if (error.cause instanceof AppError)
          for (const [name, value] of Object.entries(error.cause.headers)) headers.set(name, value);
      }
      return { headers };
    },
  });
  logRequest({
    reqId,
    method: req.method,
    route: "/api/trpc",
    url: req.url,
    status: response.status,
    started,
    callerId: requestLog.callerId,
  });
  return response;
}
