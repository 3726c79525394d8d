// The one REST helper every REST route is built with: request id, caller resolution (checks 1
// to 5), JSON body reading (check 6: 1 MiB, counted on the stream), body schema (check 7), the
// error envelope, `x-request-id`, `WWW-Authenticate`, 405 with `Allow`, one log line. Handlers
// are a few lines over a tRPC caller on the same router: never a second implementation.

import type { IncomingMessage, ServerResponse } from "node:http";
import { getConfig } from "@roster/config";
import { type Db, getDb } from "@roster/db";
import type { z } from "zod";
import { actorIdOf, type Caller, verifyBearer } from "../auth/caller";
import { clientIp, createInnerContext, nodeHeader, type RequestLog } from "../context";
import { asAppError, errorEnvelope, toValidationIssues } from "../error-map";
import {
  type AppError,
  BadRequestError,
  INVALID_JSON,
  MethodNotAllowedError,
  PayloadTooLargeError,
  ValidationError,
} from "../errors";
import { IDEMPOTENCY_KEY_HEADER, parseIdempotencyKey } from "../idempotency-key";
import { getLogger } from "../logger";
import { newRequestId } from "../request-id";
import { createCaller } from "../root";
import { rateLimitHeaders, rateLimitSubjectOf, throttles } from "../services/throttles";
import { logRequest } from "./log";

export const MAX_BODY_BYTES = 1024 * 1024;
/** Marks an answer stored under an Idempotency-Key and given again. */
export const IDEMPOTENT_REPLAYED_HEADER = "Idempotent-Replayed";
const JSON_TYPE = "application/json; charset=utf-8";
const METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] as const;
type Method = (typeof METHODS)[number];

export interface PublicRestContext<TParams, TBody> {
  params: TParams;
  body: TBody;
  prisma: Db;
  reqId: string;
  ip: string | null;
  userAgent: string | null;
}

export interface RestContext<TParams, TBody> extends PublicRestContext<TParams, TBody> {
  caller: Caller;
  /** The tRPC router, called as the resolved caller. */
  trpc: ReturnType<typeof createCaller>;
}

interface SpecBase<TBody> {
  /** The body's schema; a method without one takes no body. */
  body?: z.ZodType<TBody>;
  /** Also accept an application/x-www-form-urlencoded body. */
  form?: boolean;
}

/** A method for bearer-token callers: checks 1 to 5 run first. */
interface MethodSpec<TParams, TBody> extends SpecBase<TBody> {
  handler: (ctx: RestContext<TParams, TBody>) => Promise<unknown>;
  /** Takes an Idempotency-Key (its procedure must too: see services/idempotency.ts). */
  idempotent?: boolean;
}

/** A method anyone may call (a login, say). */
interface PublicMethodSpec<TParams, TBody> extends SpecBase<TBody> {
  handler: (ctx: PublicRestContext<TParams, TBody>) => Promise<unknown>;
}

/** A Node request as Next's API routes deliver it, with the route's path parameters in `query`. */
export type RestRequest = IncomingMessage & { query?: Partial<Record<string, string | string[]>> };
/** A route's handler: Next calls it for every method of its path. */
export type RestHandler = (req: RestRequest, res: ServerResponse) => Promise<void>;

/**
 * What a route module exports next to its handler, for Next (a literal in each route file, which
 * Next reads as written): the body is left to the helper, which reads and limits it itself; the
 * helper always answers; a streamed listing may be as large as the organization.
 */
export const ROUTE_CONFIG = { api: { bodyParser: false, externalResolver: true, responseLimit: false } } as const;

/** An AppError as the contract's error envelope, with its headers. */
export function errorResponse(err: AppError, reqId: string): Response {
  return new Response(JSON.stringify(errorEnvelope(err, reqId)), {
    status: err.status,
    headers: { "content-type": JSON_TYPE, "x-request-id": reqId, "cache-control": "no-store", ...err.headers },
  });
}

/** Writes a whole answer in one call: its headers and body leave in one write. */
function sendText(res: ServerResponse, status: number, body: string, headers: Record<string, string>): void {
  res.writeHead(status, { ...headers, "content-length": String(Buffer.byteLength(body)) });
  res.end(body);
}

const FORM_TYPE = "application/x-www-form-urlencoded";

/** Check 6's size message, the same on every surface. */
export const tooLargeMessage = (limit: number) => `Request body is larger than ${limit} bytes`;

/** Counts a body's chunks as they arrive: the error to answer once more than `limit` bytes have come, else null. */
function byteCounter(limit: number): (chunk: Uint8Array) => PayloadTooLargeError | null {
  let size = 0;
  return (chunk) => {
    size += chunk.byteLength;
    return size > limit ? new PayloadTooLargeError(tooLargeMessage(limit)) : null;
  };
}

/** Whether a request carries a body (a length above zero, or chunked), as Node's parser reads it. */
export function hasBody(req: IncomingMessage): boolean {
  const length = req.headers["content-length"];
  return req.headers["transfer-encoding"] !== undefined || (length !== undefined && length !== "0");
}

/**
 * A request's body, one chunk per call as the caller asks for it, counted as it arrives
 * (Content-Length is not trusted): null at its end, PayloadTooLargeError once more than `limit`
 * bytes have come (the rest is left to discardUnread, after the answer), and BadRequestError when
 * the client went away before its body ended (nobody reads that answer).
 */
function countedChunks(
  req: IncomingMessage,
  limit: number,
): { next: () => Promise<Buffer | null>; release: () => Promise<void> } {
  const count = byteCounter(limit);
  // Given up without destroying the request: what is left of the body is discarded after the answer.
  const chunks = req.iterator({ destroyOnReturn: false }) as AsyncIterator<Buffer>;
  const release = async () => {
    await chunks.return?.();
  };
  const next = async () => {
    let item: IteratorResult<Buffer>;
    try {
      item = await chunks.next();
    } catch {
      throw new BadRequestError(INVALID_JSON);
    }
    if (item.done) return null;
    const tooLarge = count(item.value);
    if (tooLarge) {
      await release();
      throw tooLarge;
    }
    return item.value;
  };
  return { next, release };
}

/** What is read and dropped of a body left unread by its answer, at most: past it, the connection is cut. */
export const DISCARD_LIMIT = { bytes: 8 * 1024 * 1024, ms: 5_000 };

/**
 * After an answer sent before its request's body was read to its end (a refusal by checks 1 to 6,
 * or a query that takes no body): the rest of the body is read and dropped as it comes, so that a
 * client still sending it gets to read the answer (closing a connection with unread data resets
 * it, and a reset can take the answer with it), and the connection may carry its next request.
 * At most DISCARD_LIMIT: past either bound the connection is cut. `release` first lets go of a
 * reader of the body that is still attached to it.
 */
export function discardUnread(req: IncomingMessage, release?: () => Promise<void>): void {
  if (req.readableEnded || req.destroyed) return;
  const cut = () => req.socket.destroy();
  const timer = setTimeout(cut, DISCARD_LIMIT.ms);
  timer.unref();
  let seen = 0;
  req.on("data", (chunk: Buffer) => {
    seen += chunk.byteLength;
    if (seen > DISCARD_LIMIT.bytes) cut();
  });
  // Dropped to its end: the connection goes on (the timer must not cut its next request).
  req.once("end", () => clearTimeout(timer));
  req.once("close", () => clearTimeout(timer));
  // A reader still waiting for a chunk (tRPC's body stream, pulled once on its own) lets go when
  // that chunk comes; until then the request cannot flow.
  if (release) void release().finally(() => req.resume());
  else req.resume();
}

/** A request's whole body, read through countedChunks. */
export async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const { next } = countedChunks(req, limit);
  const parts: Buffer[] = [];
  for (;;) {
    const chunk = await next();
    if (chunk === null) return Buffer.concat(parts);
    parts.push(chunk);
  }
}

/**
 * A request's body as a web stream read only as its reader asks (for tRPC's fetch adapter, whose
 * procedures read their input after checks 1 to 5), through countedChunks: past `limit` the
 * stream errors with PayloadTooLargeError. `onEnd` runs when the body was read to its end.
 * `release` lets go of the request, read or not, for discardUnread.
 */
export function limitedBodyStream(
  req: IncomingMessage,
  limit: number,
  onEnd: () => void,
): { stream: ReadableStream<Uint8Array>; release: () => Promise<void> } {
  const { next, release } = countedChunks(req, limit);
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const chunk = await next();
        if (chunk === null) {
          onEnd();
          controller.close();
        } else {
          controller.enqueue(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength));
        }
      } catch (err) {
        controller.error(err);
      }
    },
  });
  return { stream, release };
}

/** Check 6: a JSON body (or, where allowed, a form) of at most 1 MiB, counted as it arrives. */
export async function readJsonBody(
  req: IncomingMessage,
  limit = MAX_BODY_BYTES,
  opts: { form?: boolean; onEnd?: () => void } = {},
): Promise<unknown> {
  const type = (req.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase();
  const form = opts.form === true && type === FORM_TYPE;
  if (type !== "application/json" && !form) throw new BadRequestError(INVALID_JSON);
  if (!hasBody(req)) throw new BadRequestError(INVALID_JSON);
  const bytes = await readBody(req, limit);
  opts.onEnd?.();
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new BadRequestError(INVALID_JSON);
  }
  if (form) return Object.fromEntries(new URLSearchParams(text));
  if (text.trim() === "") throw new BadRequestError(INVALID_JSON);
  try {
    return JSON.parse(text);
  } catch {
    throw new BadRequestError(INVALID_JSON);
  }
}

/**
 * A 200 whose JSON body is written while it is read: `open`, the items of every page separated
 * by commas, then `close` (for example `{"users":[` ... `]}`). See writeStreamedJson.
 */
export class JsonArrayStream {
  constructor(
    readonly open: string,
    readonly pages: AsyncIterable<readonly unknown[]>,
    readonly close: string,
  ) {}
}

/** Items per write of a streamed JSON body (memberships run to about 560 bytes each). */
const SLICE_ITEMS = 64;

/**
 * Waits for a response to take more (drained) or to be gone (closed), with one listener of each
 * for the whole response. (Next's compression hands a response's 'drain' listeners to its gzip
 * stream, where removing them through the response does not reach: a listener per wait would pile
 * up there, one per chunk.)
 */
export function drainWaiter(res: ServerResponse): () => Promise<void> {
  let wake: (() => void) | null = null;
  const go = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  res.on("drain", go);
  res.on("close", go);
  return () =>
    res.destroyed
      ? Promise.resolve()
      : new Promise<void>((resolve) => {
          wake = resolve;
        });
}

/**
 * The answer of a JsonArrayStream. The first page is read before the status is sent, so a
 * failure up to there still answers with the envelope (thrown to the caller); later pages are
 * read as the client takes them, one page ahead: the database reads the next page while this one
 * is written out (two pages in memory at most). A failure after the 200 destroys the connection,
 * so the client sees a broken response, never one that looks complete. A client that goes away
 * stops the reading.
 */
async function writeStreamedJson(
  res: ServerResponse,
  data: JsonArrayStream,
  headers: Record<string, string>,
  log: (err: unknown) => void,
): Promise<void> {
  const pages = data.pages[Symbol.asyncIterator]();
  let ahead: Promise<IteratorResult<readonly unknown[]>> = pages.next();
  // The first page is awaited here, so its failure is still an error answer.
  await ahead;
  res.writeHead(200, headers);
  const writable = drainWaiter(res);
  let text = `${data.open}[`;
  let listed = false;
  try {
    for (;;) {
      const next = await ahead;
      if (next.done) {
        res.end(`${text}]${data.close}`);
        return;
      }
      ahead = pages.next();
      // Unobserved until the next page is awaited; a failure there is handled then.
      ahead.catch(() => {});
      // Written in slices of a few dozen kilobytes, each stringified at once (the array's
      // brackets cut off): short-lived small strings and buffers that the young generation's
      // collections reclaim, where one string per page would be a large object kept until a full
      // collection, and the server's memory would climb with each page.
      for (let i = 0; i < next.value.length; i += SLICE_ITEMS) {
        const items = JSON.stringify(next.value.slice(i, i + SLICE_ITEMS)).slice(1, -1);
        const more = res.write(`${text}${listed ? "," : ""}${items}`);
        text = "";
        listed = true;
        if (!more) await writable();
        if (res.destroyed) {
          await ahead.catch(() => {});
          await pages.return?.();
          return;
        }
      }
    }
  } catch (err) {
    log(err);
    res.destroy(err instanceof Error ? err : new Error(String(err)));
  }
}

/**
 * Builds a route module's handler. Methods not given answer 405 with `Allow`.
 * `route` names the route in logs (the path template, not the concrete path) and its `{name}`
 * parts are the path parameters, read from Next's `query`.
 */
export function restRoute<TParams extends Record<string, string>>(
  route: string,
  // biome-ignore lint/suspicious/noExplicitAny: each method has its own body type; the spec ties a handler to its schema
  methods: Partial<Record<Method, MethodSpec<TParams, any>>>,
): RestHandler {
  return buildRoute(route, methods, false);
}

/** Like restRoute, for methods without authentication; any Authorization header is ignored. */
export function publicRestRoute<TParams extends Record<string, string>>(
  route: string,
  // biome-ignore lint/suspicious/noExplicitAny: each method has its own body type; the spec ties a handler to its schema
  methods: Partial<Record<Method, PublicMethodSpec<TParams, any>>>,
): RestHandler {
  return buildRoute(route, methods, true);
}

/** The path parameters a route template names: `{organizationId}` and the like. */
function paramNames(route: string): string[] {
  return [...route.matchAll(/\{(\w+)\}/g)].map((m) => m[1] as string);
}

/** The path without its query, as logged. */
const pathOf = (url: string) => {
  const q = url.indexOf("?");
  return q < 0 ? url : url.slice(0, q);
};

function buildRoute<TParams extends Record<string, string>>(
  route: string,
  // biome-ignore lint/suspicious/noExplicitAny: see restRoute
  methods: Partial<Record<Method, MethodSpec<TParams, any> | PublicMethodSpec<TParams, any>>>,
  isPublic: boolean,
): RestHandler {
  const allowed = Object.keys(methods).join(", ");
  const names = paramNames(route);
  return async (req, res) => {
    const started = performance.now();
    const reqId = newRequestId();
    const method = (req.method ?? "GET") as Method;
    let callerId: string | null = null;
    let failure: unknown;
    let status = 200;
    let bodyEnded = false;
    let limitHeaders: Record<string, string> = {};
    const requestLog: RequestLog = { callerId: null };
    // Every answer of the route: the request's id (or, given again, the id of the request that
    // made it) and where the caller stands against the rate limit.
    const headersFor = (extra: Record<string, string>): Record<string, string> => {
      const headers: Record<string, string> = {
        "content-type": JSON_TYPE,
        "x-request-id": requestLog.replayOf ?? reqId,
        "cache-control": "no-store",
        ...extra,
        ...limitHeaders,
      };
      if (requestLog.replayOf) headers[IDEMPOTENT_REPLAYED_HEADER.toLowerCase()] = "true";
      return headers;
    };
    try {
      const spec = Object.hasOwn(methods, method) ? methods[method] : undefined;
      if (!spec) throw new MethodNotAllowedError(`Method ${method} is not allowed on this route`);
      const prisma = await getDb();
      const ip = clientIp(req.headers);
      const userAgent = req.headers["user-agent"] ?? null;
      // A public method ignores any Authorization header (clients may send a stale one along).
      const caller = isPublic
        ? null
        : await verifyBearer(prisma, req.headers.authorization ?? null, getConfig().authSecret, { ip });
      if (caller) callerId = actorIdOf(caller);
      // The rate limit, between checks 5 and 6 (before the body is read): per caller, or per
      // client address on a public route.
      const state = await throttles().rateLimits.spend(
        method === "GET" || method === "HEAD" ? "reads" : "writes",
        caller ? rateLimitSubjectOf(caller) : { kind: "address", ip },
      );
      if (state) limitHeaders = rateLimitHeaders([state]);
      // The Idempotency-Key, where taken, before the body is read (it is looked up after check 8).
      const idempotencyKeyHeader =
        !isPublic && (spec as MethodSpec<TParams, unknown>).idempotent
          ? nodeHeader(req.headers)(IDEMPOTENCY_KEY_HEADER.toLowerCase())
          : null;
      if (idempotencyKeyHeader !== null) parseIdempotencyKey(idempotencyKeyHeader);
      let body: unknown;
      if (spec.body) {
        const raw = await readJsonBody(req, MAX_BODY_BYTES, {
          form: spec.form,
          onEnd: () => {
            bodyEnded = true;
          },
        });
        const parsed = spec.body.safeParse(raw);
        if (!parsed.success) throw new ValidationError(toValidationIssues(parsed.error.issues));
        body = parsed.data;
      }
      const params = Object.fromEntries(names.map((name) => [name, String(req.query?.[name] ?? "")])) as TParams;
      const base = { params, body, prisma, reqId, ip, userAgent };
      let data: unknown;
      if (isPublic) {
        data = await (spec as PublicMethodSpec<TParams, unknown>).handler(base);
      } else {
        const resolved = caller as Caller;
        const trpc = createCaller(
          createInnerContext({
            prisma,
            auth: { kind: "resolved", caller: resolved },
            reqId,
            ip,
            userAgent,
            requestLog,
            idempotencyKeyHeader,
          }),
        );
        data = await (spec as MethodSpec<TParams, unknown>).handler({ ...base, caller: resolved, trpc });
      }
      if (data instanceof JsonArrayStream) {
        await writeStreamedJson(res, data, headersFor({}), (err) =>
          getLogger().error({ reqId, route, err }, "response aborted: reading failed after the 200"),
        );
      } else {
        sendText(res, 200, JSON.stringify(data), headersFor({}));
      }
    } catch (err) {
      const app = asAppError(err);
      if (res.headersSent) {
        // Nothing can be answered any more: the connection is cut, so the answer looks broken.
        failure = err;
        res.destroy();
      } else {
        // The cause of a 500 or 503 goes to the log, never to the client.
        if (app.status >= 500) failure = err;
        status = app.status;
        const headers = headersFor({
          ...app.headers,
          ...(app instanceof MethodNotAllowedError ? { allow: allowed } : {}),
        });
        sendText(res, app.status, JSON.stringify(errorEnvelope(app, requestLog.replayOf ?? reqId)), headers);
      }
    }
    if (!bodyEnded && hasBody(req)) discardUnread(req);
    logRequest({
      reqId,
      method,
      route,
      path: pathOf(req.url ?? "/"),
      status,
      started,
      callerId,
      err: failure,
      replayOf: requestLog.replayOf,
    });
  };
}
