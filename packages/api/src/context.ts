// tRPC contexts. The inner context takes how the caller presented itself (or a caller already
// resolved, as the REST adapter and tests do); createContextFromRequest is the outer one that
// reads headers. Resolution itself happens in the auth middleware (trpc.ts), in contract order.
import { getConfig } from "@roster/config";
import { type Db, getDb } from "@roster/db";
import type { Caller } from "./auth/caller";
import { clientAddress } from "./auth/ip";
import { newRequestId } from "./request-id";
import type { RateLimitState } from "./services/throttles";

/** A web sign-in: the next-auth session token's claims (see apps/web auth options). */
export interface WebSessionClaims {
  userId: string;
  sessionId: string;
  accessVersion: number;
}

export type AuthInput =
  | { kind: "resolved"; caller: Caller }
  | { kind: "bearer"; authorization: string }
  | { kind: "web"; session: WebSessionClaims }
  | { kind: "none" };

export interface InnerContext {
  prisma: Db;
  reqId: string;
  ip: string | null;
  userAgent: string | null;
  auth: AuthInput;
  authSecret: string;
  maxBulkDelete: number;
  /** Filled as the request is served, for its log line (and the rate limit, for its headers). */
  requestLog: RequestLog;
  /** The request's Idempotency-Key header as sent, or null (see idempotency-key.ts). */
  idempotencyKeyHeader: string | null;
}

export interface RequestLog {
  callerId: string | null;
  rateLimits?: RateLimitState[];
  /** Set when the answer is a stored one given again: the id of the request that made it. */
  replayOf?: string;
}

export function createInnerContext(
  opts: Pick<InnerContext, "prisma" | "auth"> & Partial<Omit<InnerContext, "prisma" | "auth">>,
): InnerContext {
  const config = getConfig();
  return {
    reqId: opts.reqId ?? newRequestId(),
    ip: opts.ip ?? null,
    userAgent: opts.userAgent ?? null,
    authSecret: opts.authSecret ?? config.authSecret,
    maxBulkDelete: opts.maxBulkDelete ?? config.maxBulkDelete,
    prisma: opts.prisma,
    auth: opts.auth,
    requestLog: opts.requestLog ?? { callerId: null },
    idempotencyKeyHeader: opts.idempotencyKeyHeader ?? null,
  };
}

/** Set by the web server (apps/web/server.mjs) to the connection's peer address, overwriting any client value. */
export const PEER_IP_HEADER = "x-roster-peer-ip";

/**
 * The client's address: the connection's peer, or with TRUST_PROXY the address the trusted
 * proxies in front report (from the right of X-Forwarded-For; see clientAddress).
 */
export function clientIp(headers: Headers | NodeHeaders): string | null {
  const get = headerReader(headers);
  return clientAddress(get(PEER_IP_HEADER), get("x-forwarded-for"), getConfig().trustProxy);
}

/** A Node request's headers (lower-case names; a repeated header as a list). */
export type NodeHeaders = Record<string, string | string[] | undefined>;

/** Reads a Node request's header as the Fetch API's Headers would: repeated values joined by ", ". */
export const nodeHeader =
  (headers: NodeHeaders) =>
  (name: string): string | null => {
    const value = headers[name];
    return value === undefined ? null : Array.isArray(value) ? value.join(", ") : value;
  };

/** Reads a header of either kind of request, as the Fetch API's Headers would. */
export const headerReader = (headers: Headers | NodeHeaders): ((name: string) => string | null) =>
  headers instanceof Headers ? (name) => headers.get(name) : nodeHeader(headers);

/**
 * The outer context for HTTP: a bearer Authorization header wins; otherwise the web session
 * that the app resolves from its sign-in cookie (`webSession`, asked only then), if any.
 */
export async function createContextFromRequest(opts: {
  headers: Headers | NodeHeaders;
  reqId?: string;
  webSession?: (cookie: string | null) => Promise<WebSessionClaims | null>;
  requestLog?: RequestLog;
}): Promise<InnerContext> {
  const { headers } = opts;
  const get = headerReader(headers);
  const authorization = get("authorization");
  const session = authorization ? null : ((await opts.webSession?.(get("cookie"))) ?? null);
  const auth: AuthInput = authorization
    ? { kind: "bearer", authorization }
    : session
      ? { kind: "web", session }
      : { kind: "none" };
  return createInnerContext({
    prisma: await getDb(),
    auth,
    ip: clientIp(headers),
    userAgent: get("user-agent"),
    idempotencyKeyHeader: get("idempotency-key"),
    ...(opts.reqId ? { reqId: opts.reqId } : {}),
    ...(opts.requestLog ? { requestLog: opts.requestLog } : {}),
  });
}
