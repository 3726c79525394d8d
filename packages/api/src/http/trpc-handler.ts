import { getDb } from "@roster/db";
import { getErrorShape, transformTRPCResponse } from "@trpc/server";
import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import type { RequestLog, WebSessionClaims } from "../context";
import { createContextFromRequest, createInnerContext } from "../context";
import { toTRPCError } from "../error-map";
import { AppError, BadRequestError } from "../errors";
import { IDEMPOTENCY_KEY_HEADER } from "../idempotency-key";
import { newRequestId } from "../request-id";
import { appRouter } from "../root";
import { rateLimitHeaders } from "../services/throttles";
import { logRequest } from "./log";
import { closeIfBodyUnread, IDEMPOTENT_REPLAYED_HEADER, limitBody, MAX_BODY_BYTES } from "./rest";

const ENDPOINT = "/api/trpc";

/** At most this many procedure calls in one batch request (`?batch=1`, paths joined by commas). */
export const MAX_BATCH_CALLS = 10;

/** How many calls a request carries, read the way tRPC reads it. */
function callCount(url: URL): number {
  if (url.searchParams.get("batch") !== "1") return 1;
  return url.pathname.slice(ENDPOINT.length).replace(/^\/+/, "").split(",").length;
}

/**
 * The route a request is counted under: its procedure when it calls one the router has, else the
 * endpoint (batches, unknown paths), so a client cannot grow the metrics' label set.
 */
function routeOf(url: URL, calls: number): string {
  const path = url.pathname.slice(ENDPOINT.length).replace(/^\/+/, "");
  return calls === 1 && Object.hasOwn(appRouter._def.procedures, path) ? `${ENDPOINT}/${path}` : ENDPOINT;
}

/** A failure of the request as a whole, in the shape tRPC answers any error with (the same formatter). */
async function requestFailure(app: AppError, reqId: string): Promise<Response> {
  const ctx = createInnerContext({ prisma: await getDb(), auth: { kind: "none" }, reqId });
  const shape = getErrorShape({
    config: appRouter._def._config,
    error: toTRPCError(app),
    type: "unknown",
    path: undefined,
    input: undefined,
    ctx,
  });
  return new Response(JSON.stringify(transformTRPCResponse(appRouter._def._config, { error: shape })), {
    status: app.status,
    headers: { "content-type": "application/json", "x-request-id": reqId, ...app.headers },
  });
}

/**
 * Serves tRPC at /api/trpc (plain JSON, no transformer), one log line per request. A batch of
 * more than MAX_BATCH_CALLS calls is refused before anything runs; the body is held to the REST
 * limit (1 MiB, counted on the stream). tRPC reads the body only when a procedure asks for its
 * input, after checks 1 to 5, so check 6 keeps its place in the contract's order.
 */
export async function handleTrpcRequest(
  req: Request,
  opts: { webSession: () => Promise<WebSessionClaims | null> },
): Promise<Response> {
  const started = performance.now();
  const reqId = newRequestId();
  const requestLog: RequestLog = { callerId: null };
  const url = new URL(req.url);
  const calls = callCount(url);
  let response: Response;
  let bodyEnded = false;
  if (calls > MAX_BATCH_CALLS) {
    response = await requestFailure(
      new BadRequestError(`A batch may hold at most ${MAX_BATCH_CALLS} calls; this one has ${calls}`),
      reqId,
    );
  } else if (calls > 1 && req.headers.has(IDEMPOTENCY_KEY_HEADER)) {
    // One key names one request: calls of a batch would share it and refuse each other.
    response = await requestFailure(
      new BadRequestError(`An ${IDEMPOTENCY_KEY_HEADER} applies to one call; send this batch's calls apart`),
      reqId,
    );
  } else {
    const limited = req.body
      ? new Request(req.url, {
          method: req.method,
          headers: req.headers,
          body: limitBody(req.body, MAX_BODY_BYTES, () => {
            bodyEnded = true;
          }),
          signal: req.signal,
          duplex: "half",
        } as RequestInit)
      : req;
    response = await fetchRequestHandler({
      endpoint: ENDPOINT,
      req: limited,
      router: appRouter,
      createContext: async () =>
        createContextFromRequest({
          headers: req.headers,
          reqId,
          requestLog,
          webSession: req.headers.get("authorization") ? null : await opts.webSession(),
        }),
      responseMeta: ({ errors }) => {
        const headers = new Headers({ "x-request-id": reqId, ...rateLimitHeaders(requestLog.rateLimits ?? []) });
        // A failure's own headers go out with it (WWW-Authenticate on every 401, as the contract says).
        for (const error of errors) {
          if (error.cause instanceof AppError)
            for (const [name, value] of Object.entries(error.cause.headers)) headers.set(name, value);
        }
        // A stored answer given again (one call: see above) says so, with its request's id.
        if (requestLog.replayOf) {
          headers.set("x-request-id", requestLog.replayOf);
          headers.set(IDEMPOTENT_REPLAYED_HEADER, "true");
        }
        return { headers };
      },
    });
  }
  closeIfBodyUnread(req, bodyEnded, response);
  logRequest({
    reqId,
    method: req.method,
    route: routeOf(url, calls),
    url: req.url,
    status: response.status,
    started,
    callerId: requestLog.callerId,
    replayOf: requestLog.replayOf,
  });
  return response;
}
