import type { IncomingMessage, ServerResponse } from "node:http";
import { getDb } from "@roster/db";
import {
  callTRPCProcedure,
  getErrorShape,
  getTRPCErrorFromUnknown,
  TRPCError,
  transformTRPCResponse,
} from "@trpc/server";
import { fetchRequestHandler } from "@trpc/server/adapters/fetch";
import { getHTTPStatusCode } from "@trpc/server/http";
import type { InnerContext, NodeHeaders, RequestLog, WebSessionClaims } from "../context";
import { createContextFromRequest, createInnerContext, nodeHeader } from "../context";
import { toTRPCError } from "../error-map";
import { AppError, BadRequestError } from "../errors";
import { IDEMPOTENCY_KEY_HEADER } from "../idempotency-key";
import { newRequestId } from "../request-id";
import { appRouter } from "../root";
import { rateLimitHeaders } from "../services/throttles";
import { logRequest } from "./log";
import {
  discardUnread,
  drainWaiter,
  hasBody,
  IDEMPOTENT_REPLAYED_HEADER,
  limitedBodyStream,
  MAX_BODY_BYTES,
  readBody,
} from "./rest";

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
 * The headers responseMeta adds to every answer: the request's id, its rate limit, a failure's
 * own headers (WWW-Authenticate on every 401, as the contract says), and a replay's.
 */
function metaHeaders(reqId: string, requestLog: RequestLog, errors: readonly TRPCError[]): Headers {
  const headers = new Headers({ "x-request-id": reqId, ...rateLimitHeaders(requestLog.rateLimits ?? []) });
  for (const error of errors) {
    if (error.cause instanceof AppError)
      for (const [name, value] of Object.entries(error.cause.headers)) headers.set(name, value);
  }
  // A stored answer given again (one call: see above) says so, with its request's id.
  if (requestLog.replayOf) {
    headers.set("x-request-id", requestLog.replayOf);
    headers.set(IDEMPOTENT_REPLAYED_HEADER, "true");
  }
  return headers;
}

/** The path of the request's procedure when it is a lone mutation call (see serveLoneMutation), else null. */
export function loneMutationPath(url: URL, method: string, headers: NodeHeaders): string | null {
  if (method !== "POST" || url.search !== "" || !url.pathname.startsWith(`${ENDPOINT}/`)) return null;
  const path = url.pathname.slice(ENDPOINT.length + 1);
  if (!/^[A-Za-z0-9_.]+$/.test(path) || !Object.hasOwn(appRouter._def.procedures, path)) return null;
  const procedures = appRouter._def.procedures as unknown as Record<string, { _def: { type: string } } | undefined>;
  const procedure = procedures[path];
  if (procedure?._def.type !== "mutation") return null;
  const get = nodeHeader(headers);
  // tRPC's JSON content type, as it matches it; an answer asked for as a stream goes to the adapter.
  if (get("content-type")?.toLowerCase().split(";", 1)[0]?.trim() !== "application/json") return null;
  if (get("trpc-accept") !== null || get("accept")?.includes("application/jsonl")) return null;
  return path;
}

interface Answer {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/**
 * A lone call of a mutation (POST, no query string, so no batch; a JSON body; no stream asked
 * for), answered as tRPC's fetch adapter answers it (resolveResponse), with tRPC's own exported
 * functions: the same context, the procedure called the same way (its input read lazily, a
 * failure to read it a BAD_REQUEST carrying its cause), the same error shape, status and headers.
 * What it leaves out is the adapter's fetch Request and Response and its abort signals, which
 * cost a 1-id removal about 0.5 ms of the server's CPU on Node 20 (docs/performance.md, change
 * 32). No mutation of this router streams its answer. api-routes-parity.test.ts holds these
 * answers equal to the adapter's (API_ROUTING=next sends every call through the adapter).
 */
async function serveLoneMutation(
  req: IncomingMessage,
  path: string,
  opts: {
    reqId: string;
    requestLog: RequestLog;
    webSession: (cookie: string | null) => Promise<WebSessionClaims | null>;
    onBodyEnd: () => void;
  },
): Promise<Answer> {
  const config = appRouter._def._config;
  let ctx: InnerContext | undefined;
  let error: TRPCError | undefined;
  let data: unknown;
  // The input once read (tRPC's call.result()), for the error shape.
  let input: unknown;
  let reading: Promise<unknown> | undefined;
  const getRawInput = () => {
    reading ??= (async () => {
      try {
        const bytes = await readBody(req, MAX_BODY_BYTES);
        opts.onBodyEnd();
        // As Request.json() reads it: UTF-8, a byte order mark dropped, bad sequences replaced.
        input = config.transformer.input.deserialize(JSON.parse(new TextDecoder().decode(bytes)));
        return input;
      } catch (cause) {
        if (cause instanceof TRPCError) throw cause;
        throw new TRPCError({
          code: "BAD_REQUEST",
          message: cause instanceof Error ? cause.message : "Invalid input",
          cause,
        });
      }
    })();
    return reading;
  };
  try {
    ctx = await createContextFromRequest({
      headers: req.headers,
      reqId: opts.reqId,
      requestLog: opts.requestLog,
      webSession: opts.webSession,
    });
  } catch (cause) {
    error = getTRPCErrorFromUnknown(cause);
  }
  if (ctx) {
    try {
      data = await callTRPCProcedure({
        router: appRouter,
        path,
        getRawInput,
        ctx,
        type: "mutation",
        signal: undefined,
        batchIndex: 0,
      });
    } catch (cause) {
      error = getTRPCErrorFromUnknown(cause);
    }
  }
  const json = error
    ? { error: getErrorShape({ config, ctx, error, input, path, type: "mutation" }) }
    : { result: { data } };
  const headers: Record<string, string> = { vary: "trpc-accept, accept", "content-type": "application/json" };
  for (const [name, value] of metaHeaders(opts.reqId, opts.requestLog, error ? [error] : [])) {
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  return {
    status: getHTTPStatusCode([json]),
    headers,
    body: JSON.stringify(transformTRPCResponse(config, json)),
  };
}

/** A fetch Response written to Node's response: whole when it is JSON, chunk by chunk otherwise (a stream). */
async function writeResponse(res: ServerResponse, response: Response): Promise<void> {
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of response.headers) if (name !== "set-cookie") headers[name] = value;
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) headers["set-cookie"] = cookies;
  if (!response.body) {
    res.writeHead(response.status, headers);
    res.end();
    return;
  }
  if ((response.headers.get("content-type") ?? "").startsWith("application/json")) {
    const body = Buffer.from(await response.arrayBuffer());
    res.writeHead(response.status, { ...headers, "content-length": String(body.byteLength) });
    res.end(body);
    return;
  }
  res.writeHead(response.status, headers);
  const writable = drainWaiter(res);
  const reader = response.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (!res.write(value)) await writable();
      if (res.destroyed) {
        await reader.cancel();
        return;
      }
    }
    res.end();
  } catch (err) {
    res.destroy(err instanceof Error ? err : new Error(String(err)));
  }
}

/**
 * Serves tRPC at /api/trpc (plain JSON, no transformer), one log line per request. A batch of
 * more than MAX_BATCH_CALLS calls is refused before anything runs; the body is held to the REST
 * limit (1 MiB, counted as it arrives). The body is read only when a procedure asks for its
 * input, after checks 1 to 5, and a body over the limit errors there, so check 6 keeps its place
 * in the contract's order.
 */
export async function handleTrpcRequest(
  req: IncomingMessage,
  res: ServerResponse,
  opts: {
    webSession: (cookie: string | null) => Promise<WebSessionClaims | null>;
    /** false: every call through tRPC's fetch adapter, lone mutations too (see serveLoneMutation). */
    loneMutations?: boolean;
  },
): Promise<void> {
  const started = performance.now();
  const reqId = newRequestId();
  const requestLog: RequestLog = { callerId: null };
  // The path as sent, on a fixed origin (never read as a protocol-relative URL's host).
  const url = new URL(`http://roster.invalid${req.url?.startsWith("/") ? req.url : "/"}`);
  const method = req.method ?? "GET";
  const calls = callCount(url);
  const lone = opts.loneMutations === false ? null : loneMutationPath(url, method, req.headers);
  let response: Response | Answer;
  let bodyEnded = !hasBody(req);
  let release: (() => Promise<void>) | undefined;
  // A query's input is in its URL: a body sent with it is not read (but dropped after the answer).
  const takesBody = method !== "GET" && method !== "HEAD";
  if (calls > MAX_BATCH_CALLS) {
    response = await requestFailure(
      new BadRequestError(`A batch may hold at most ${MAX_BATCH_CALLS} calls; this one has ${calls}`),
      reqId,
    );
  } else if (calls > 1 && req.headers[IDEMPOTENCY_KEY_HEADER.toLowerCase()] !== undefined) {
    // One key names one request: calls of a batch would share it and refuse each other.
    response = await requestFailure(
      new BadRequestError(`An ${IDEMPOTENCY_KEY_HEADER} applies to one call; send this batch's calls apart`),
      reqId,
    );
  } else if (lone) {
    response = await serveLoneMutation(req, lone, {
      reqId,
      requestLog,
      webSession: opts.webSession,
      onBodyEnd: () => {
        bodyEnded = true;
      },
    });
  } else {
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers)) {
      if (typeof value === "string") headers.set(name, value);
      else if (value) for (const v of value) headers.append(name, v);
    }
    // Read only when a procedure reads its input: after checks 1 to 5, as on REST.
    const body =
      !bodyEnded && takesBody
        ? limitedBodyStream(req, MAX_BODY_BYTES, () => {
            bodyEnded = true;
          })
        : undefined;
    release = body?.release;
    const request = new Request(url, { method, headers, body: body?.stream, duplex: "half" } as RequestInit);
    response = await fetchRequestHandler({
      endpoint: ENDPOINT,
      req: request,
      router: appRouter,
      createContext: () => createContextFromRequest({ headers, reqId, requestLog, webSession: opts.webSession }),
      responseMeta: ({ errors }) => ({ headers: metaHeaders(reqId, requestLog, errors) }),
    });
  }
  if (response instanceof Response) await writeResponse(res, response);
  else {
    res.writeHead(response.status, {
      ...response.headers,
      "content-length": String(Buffer.byteLength(response.body)),
    });
    res.end(response.body);
  }
  if (!bodyEnded) discardUnread(req, release);
  logRequest({
    reqId,
    method,
    route: routeOf(url, calls),
    path: url.pathname,
    status: response.status,
    started,
    callerId: requestLog.callerId,
    replayOf: requestLog.replayOf,
  });
}
