// The one REST helper every REST route is built with: request id, caller resolution (checks 1
// to 5), JSON body reading (check 6: 1 MiB, counted on the stream), body schema (check 7), the
// error envelope, `x-request-id`, `WWW-Authenticate`, 405 with `Allow`, one log line. Handlers
// are a few lines over a tRPC caller on the same router: never a second implementation.
import { getConfig } from "@roster/config";
import { type Db, getDb } from "@roster/db";
import type { z } from "zod";
import { actorIdOf, type Caller, verifyBearer } from "../auth/caller";
import { clientIp, createInnerContext, type RequestLog } from "../context";
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

type RouteContext<TParams> = { params: Promise<TParams> };
type NextHandler<TParams> = (req: Request, ctx: RouteContext<TParams>) => Promise<Response>;

/** An AppError as the contract's error envelope, with its headers. */
export function errorResponse(err: AppError, reqId: string): Response {
  return json(err.status, errorEnvelope(err, reqId), reqId, err.headers);
}

function json(status: number, body: unknown, reqId: string, extra: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { "content-type": JSON_TYPE, "x-request-id": reqId, "cache-control": "no-store", ...extra },
  });
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

/**
 * Check 6's size limit on a request body, counted as it arrives (Content-Length is not
 * trusted): the returned stream errors with PayloadTooLargeError once more than `limit` bytes
 * have come, and stops reading the rest. `onEnd` runs when the body was read to its end. The one
 * counter for REST and tRPC alike.
 */
export function limitBody(
  body: ReadableStream<Uint8Array>,
  limit = MAX_BODY_BYTES,
  onEnd?: () => void,
): ReadableStream<Uint8Array> {
  const count = byteCounter(limit);
  return body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        const tooLarge = count(chunk);
        if (tooLarge) controller.error(tooLarge);
        else controller.enqueue(chunk);
      },
      flush() {
        onEnd?.();
      },
    }),
  );
}

/**
 * An answer given before the request's body was read to its end (refused early, or too large)
 * closes its connection: the client may still be sending that body, so the connection cannot
 * carry its next request.
 */
export function closeIfBodyUnread(req: Request, bodyEnded: boolean, res: Response): Response {
  if (req.body && !bodyEnded) res.headers.set("connection", "close");
  return res;
}

/** Check 6: a JSON body (or, where allowed, a form) of at most 1 MiB (see limitBody). */
export async function readJsonBody(
  req: Request,
  limit = MAX_BODY_BYTES,
  opts: { form?: boolean; onEnd?: () => void } = {},
): Promise<unknown> {
  const type = (req.headers.get("content-type") ?? "").split(";")[0]?.trim().toLowerCase();
  const form = opts.form === true && type === FORM_TYPE;
  if (type !== "application/json" && !form) throw new BadRequestError(INVALID_JSON);
  if (!req.body) throw new BadRequestError(INVALID_JSON);
  // Counted as limitBody counts, read here without a stream between (a TransformStream per
  // request was a measurable part of a 1-id removal's CPU).
  const reader = req.body.getReader();
  const count = byteCounter(limit);
  const chunks: Uint8Array[] = [];
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    const tooLarge = count(value);
    if (tooLarge) {
      void reader.cancel().catch(() => {});
      throw tooLarge;
    }
    chunks.push(value);
  }
  opts.onEnd?.();
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(Buffer.concat(chunks));
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
 * by commas, then `close` (for example `{"users":[` ... `]}`). See streamedJson.
 */
export class JsonArrayStream {
  constructor(
    readonly open: string,
    readonly pages: AsyncIterable<readonly unknown[]>,
    readonly close: string,
  ) {}
}

/** Items per chunk of a streamed JSON body (memberships run to about 560 bytes each). */
const SLICE_ITEMS = 64;

/**
 * The response of a JsonArrayStream. The first page is read before the status is sent, so a
 * failure up to there still answers with the envelope; later pages are read as the client takes
 * them, one page ahead: the database reads the next page while this one is written out (two
 * pages in memory at most). A failure after the 200 aborts the body, so the client sees a broken
 * response, never one that looks complete.
 */
async function streamedJson(data: JsonArrayStream, reqId: string, log: (err: unknown) => void): Promise<Response> {
  const pages = data.pages[Symbol.asyncIterator]();
  const encoder = new TextEncoder();
  let ahead: Promise<IteratorResult<readonly unknown[]>> = pages.next();
  // The first page is awaited here, so its failure is still an error answer.
  await ahead;
  let opened = false;
  let listed = false;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        let text = opened ? "" : `${data.open}[`;
        opened = true;
        // An empty page writes nothing: read on until there is a page to send, or the end.
        for (;;) {
          const next = await ahead;
          if (next.done) {
            controller.enqueue(encoder.encode(`${text}]${data.close}`));
            controller.close();
            return;
          }
          ahead = pages.next();
          // Unobserved until the next pull; a failure there is handled when it is awaited.
          ahead.catch(() => {});
          if (next.value.length > 0) {
            // Written in slices of a few dozen kilobytes, each stringified at once (the array's
            // brackets cut off): short-lived small strings and buffers that the young generation's
            // collections reclaim, where one string per page would be a large object kept until
            // a full collection, and the server's memory would climb with each page.
            for (let i = 0; i < next.value.length; i += SLICE_ITEMS) {
              const items = JSON.stringify(next.value.slice(i, i + SLICE_ITEMS)).slice(1, -1);
              controller.enqueue(encoder.encode(`${text}${listed ? "," : ""}${items}`));
              text = "";
              listed = true;
            }
            return;
          }
        }
      } catch (err) {
        log(err);
        controller.error(err);
      }
    },
    async cancel() {
      await pages.return?.();
    },
  });
  return new Response(body, {
    status: 200,
    headers: { "content-type": JSON_TYPE, "x-request-id": reqId, "cache-control": "no-store" },
  });
}

/**
 * Builds a route module's handlers. Methods not given answer 405 with `Allow`.
 * `route` names the route in logs (the path template, not the concrete path).
 */
export function restRoute<TParams extends Record<string, string>>(
  route: string,
  // biome-ignore lint/suspicious/noExplicitAny: each method has its own body type; the spec ties a handler to its schema
  methods: Partial<Record<Method, MethodSpec<TParams, any>>>,
): Record<Method, NextHandler<TParams>> {
  return buildRoute(route, methods, false);
}

/** Like restRoute, for methods without authentication; any Authorization header is ignored. */
export function publicRestRoute<TParams extends Record<string, string>>(
  route: string,
  // biome-ignore lint/suspicious/noExplicitAny: each method has its own body type; the spec ties a handler to its schema
  methods: Partial<Record<Method, PublicMethodSpec<TParams, any>>>,
): Record<Method, NextHandler<TParams>> {
  return buildRoute(route, methods, true);
}

function buildRoute<TParams extends Record<string, string>>(
  route: string,
  // biome-ignore lint/suspicious/noExplicitAny: see restRoute
  methods: Partial<Record<Method, MethodSpec<TParams, any> | PublicMethodSpec<TParams, any>>>,
  isPublic: boolean,
): Record<Method, NextHandler<TParams>> {
  const allowed = Object.keys(methods).join(", ");
  const serve =
    (method: Method): NextHandler<TParams> =>
    async (req, routeCtx) => {
      const started = performance.now();
      const reqId = newRequestId();
      let callerId: string | null = null;
      let failure: unknown;
      let response: Response;
      let bodyEnded = false;
      let limitHeaders: Record<string, string> = {};
      const requestLog: RequestLog = { callerId: null };
      try {
        const spec = methods[method];
        if (!spec) throw new MethodNotAllowedError(`Method ${method} is not allowed on this route`);
        const prisma = await getDb();
        const ip = clientIp(req.headers);
        const userAgent = req.headers.get("user-agent");
        // A public method ignores any Authorization header (clients may send a stale one along).
        const caller = isPublic
          ? null
          : await verifyBearer(prisma, req.headers.get("authorization"), getConfig().authSecret, { ip });
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
            ? req.headers.get(IDEMPOTENCY_KEY_HEADER)
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
        const base = { params: await routeCtx.params, body, prisma, reqId, ip, userAgent };
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
        response =
          data instanceof JsonArrayStream
            ? await streamedJson(data, reqId, (err) =>
                getLogger().error({ reqId, route, err }, "response aborted: reading failed after the 200"),
              )
            : json(200, data, requestLog.replayOf ?? reqId);
      } catch (err) {
        const app = asAppError(err);
        // The cause of a 500 or 503 goes to the log, never to the client.
        if (app.status >= 500) failure = err;
        const headers = { ...app.headers, ...(app instanceof MethodNotAllowedError ? { allow: allowed } : {}) };
        const answerId = requestLog.replayOf ?? reqId;
        response = json(app.status, errorEnvelope(app, answerId), answerId, headers);
      }
      // A stored answer given again says so, and carries the id of the request that made it.
      if (requestLog.replayOf) response.headers.set(IDEMPOTENT_REPLAYED_HEADER, "true");
      // Every answer of a limited route says where the caller stands, success or failure.
      for (const [name, value] of Object.entries(limitHeaders)) response.headers.set(name, value);
      closeIfBodyUnread(req, bodyEnded, response);
      logRequest({
        reqId,
        method,
        route,
        url: req.url,
        status: response.status,
        started,
        callerId,
        err: failure,
        replayOf: requestLog.replayOf,
      });
      return response;
    };
  return Object.fromEntries(METHODS.map((m) => [m, serve(m)])) as Record<Method, NextHandler<TParams>>;
}
