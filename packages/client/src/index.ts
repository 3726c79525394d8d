// The typed tRPC client of Roster, for Node scripts and other TypeScript callers: every procedure
// of AppRouter with its inputs and outputs, over plain JSON (the server uses no transformer).
import type { AppRouter } from "@roster/api";
import {
  createTRPCClient,
  httpBatchLink,
  httpLink,
  type Operation,
  retryLink,
  splitLink,
  TRPCClientError,
  type TRPCLink,
} from "@trpc/client";
import { RosterApiError } from "./errors";
import { backoffMs, idempotencyKeyHeader, newIdempotencyKey, type RetryOptions } from "./retry";
import { defaultBaseUrl, resolveToken, type TokenSource, trimBaseUrl } from "./token";

export type { AppRouter, RouterInputs, RouterOutputs } from "@roster/api";
export { RosterApiError, type RosterErrorInit } from "./errors";
export { newIdempotencyKey, type RetryOptions } from "./retry";
export { defaultBaseUrl, type TokenSource } from "./token";

export interface RosterClientOptions {
  /** Where Roster runs (default: `ROSTER_URL`, else `http://localhost:$PORT`, else port 3000). */
  baseUrl?: string;
  /** A user or machine identity access token, or a function returning the current one. */
  token: TokenSource;
  /** A fetch implementation (default: the global one). */
  fetch?: typeof globalThis.fetch;
  /**
   * Retries of queries and of the writes that take an Idempotency-Key, as the REST client's
   * (retry.ts; Retry-After is not seen here, so waits are the backoff's). `false`: none.
   */
  retry?: RetryOptions | false;
}

/** The procedures that take an Idempotency-Key: each call gets its own, kept across its retries. */
export const IDEMPOTENT_PROCEDURES: ReadonlySet<string> = new Set([
  "organizations.bulkDeleteMemberships",
  "organizations.restoreMemberships",
]);

/** The context a call may carry: `mutate(input, { context: { idempotencyKey } })` names its key. */
interface KeyContext {
  idempotencyKey?: string;
}

const keyOf = (op: Operation) => (op.context as KeyContext).idempotencyKey;

/** Gives each call of an idempotent procedure a key (unless it names one), before any retry. */
const idempotencyKeyLink: TRPCLink<AppRouter> =
  () =>
  ({ op, next }) =>
    next(
      op.type === "mutation" && IDEMPOTENT_PROCEDURES.has(op.path) && !keyOf(op)
        ? { ...op, context: { ...op.context, idempotencyKey: newIdempotencyKey() } }
        : op,
    );

/** Whether a failed call is worth another attempt: see retry.ts. */
function retriable(op: Operation, error: TRPCClientError<AppRouter>): boolean {
  if (op.type !== "query" && !keyOf(op)) return false;
  const data = error.data as RosterErrorData | undefined;
  if (!data || typeof data.httpStatus !== "number") return true; // no answer: network failure or timeout
  // A 409 without details is a key still running; a restore's (its conflicts) has details.
  return data.httpStatus >= 500 || data.httpStatus === 429 || (data.httpStatus === 409 && data.details === undefined);
}

/**
 * A tRPC client for `${baseUrl}/api/trpc`, sending `Authorization: Bearer <token>` on every request.
 * A call with an Idempotency-Key goes alone (the server takes a key for one call only), others
 * are batched.
 */
export function createRosterClient(opts: RosterClientOptions) {
  const url = `${trimBaseUrl(opts.baseUrl ?? defaultBaseUrl())}/api/trpc`;
  const retry = opts.retry === false ? { attempts: 1 } : (opts.retry ?? {});
  const timeoutMs = retry.timeoutMs ?? 60_000;
  const base = opts.fetch ?? globalThis.fetch;
  // Each attempt has its own timeout, so a lost answer is retried rather than waited for.
  const timedFetch: typeof globalThis.fetch = (input, init) => {
    const timeout = AbortSignal.timeout(timeoutMs);
    return base(input, { ...init, signal: init?.signal ? AbortSignal.any([init.signal, timeout]) : timeout });
  };
  const authorization = async () => `Bearer ${await resolveToken(opts.token)}`;
  // retryLink asks retryDelayMs right after retry, in the same turn: the wait is decided once.
  let delayMs = 0;
  return createTRPCClient<AppRouter>({
    links: [
      idempotencyKeyLink,
      retryLink({
        retry: ({ op, error, attempts }) => {
          const again = attempts < (retry.attempts ?? 5) && retriable(op, error);
          delayMs = backoffMs(attempts, retry);
          if (again) retry.onRetry?.({ attempt: attempts, reason: error.message, delayMs });
          return again;
        },
        retryDelayMs: () => delayMs,
      }),
      splitLink({
        condition: (op) => keyOf(op) !== undefined,
        true: httpLink({
          url,
          fetch: timedFetch,
          headers: async ({ op }) => ({
            authorization: await authorization(),
            "idempotency-key": idempotencyKeyHeader(keyOf(op) as string),
          }),
        }),
        false: httpBatchLink({
          url,
          // The server refuses a batch of more than 10 calls.
          maxItems: 10,
          fetch: timedFetch,
          headers: async () => ({ authorization: await authorization() }),
        }),
      }),
    ],
  });
}

export type RosterClient = ReturnType<typeof createRosterClient>;

/** The error data Roster's procedures answer with (see the contract's tRPC surface). */
interface RosterErrorData {
  httpStatus?: unknown;
  error?: unknown;
  reqId?: unknown;
  details?: unknown;
  issues?: unknown;
}

/**
 * A failed call's status, `error` name, message and reqId, whichever surface it came from: a
 * RosterApiError as is, a TRPCClientError carrying Roster's error data converted, else null
 * (a network failure, say).
 */
export function rosterErrorOf(err: unknown): RosterApiError | null {
  if (err instanceof RosterApiError) return err;
  if (!(err instanceof TRPCClientError)) return null;
  const data = err.data as RosterErrorData | undefined;
  if (!data || typeof data.httpStatus !== "number" || typeof data.error !== "string") return null;
  return new RosterApiError(
    {
      status: data.httpStatus,
      error: data.error,
      message: err.message,
      reqId: typeof data.reqId === "string" ? data.reqId : null,
      ...(data.details !== undefined ? { details: data.details } : {}),
      ...(Array.isArray(data.issues) ? { issues: data.issues } : {}),
    },
    { cause: err },
  );
}
