// The typed tRPC client of Roster, for Node scripts and other TypeScript callers: every procedure
// of AppRouter with its inputs and outputs, over plain JSON (the server uses no transformer).
import type { AppRouter } from "@roster/api";
import { createTRPCClient, httpBatchLink, TRPCClientError } from "@trpc/client";
import { RosterApiError } from "./errors";
import { defaultBaseUrl, resolveToken, type TokenSource, trimBaseUrl } from "./token";

export type { AppRouter, RouterInputs, RouterOutputs } from "@roster/api";
export { RosterApiError, type RosterErrorInit } from "./errors";
export { defaultBaseUrl, type TokenSource } from "./token";

export interface RosterClientOptions {
  /** Where Roster runs (default: `ROSTER_URL`, else `http://localhost:$PORT`, else port 3000). */
  baseUrl?: string;
  /** A user or machine identity access token, or a function returning the current one. */
  token: TokenSource;
  /** A fetch implementation (default: the global one). */
  fetch?: typeof globalThis.fetch;
}

/** A tRPC client for `${baseUrl}/api/trpc`, sending `Authorization: Bearer <token>` on every request. */
export function createRosterClient(opts: RosterClientOptions) {
  return createTRPCClient<AppRouter>({
    links: [
      httpBatchLink({
        url: `${trimBaseUrl(opts.baseUrl ?? defaultBaseUrl())}/api/trpc`,
        // The server refuses a batch of more than 10 calls.
        maxItems: 10,
        headers: async () => ({ authorization: `Bearer ${await resolveToken(opts.token)}` }),
        ...(opts.fetch ? { fetch: opts.fetch } : {}),
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
