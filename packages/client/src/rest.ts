// A typed REST client of Roster for external TypeScript callers: openapi-fetch over the types
// generated from the OpenAPI document (src/generated/openapi.ts, `npm run client:generate`), the
// Universal Auth helpers (log in, renew, revoke, and a self-renewing token source), and
// RosterApiError for every refusal.
import createClient, { type Client } from "openapi-fetch";
import { RosterApiError, restError } from "./errors";
import type { operations, paths } from "./generated/openapi";
import { idempotencyKeyHeader, newIdempotencyKey, type RetryOptions, retryingFetch } from "./retry";
import { defaultBaseUrl, resolveToken, type TokenSource, trimBaseUrl } from "./token";

export { RosterApiError, type RosterErrorInit } from "./errors";
export type { components, operations, paths } from "./generated/openapi";
export { idempotencyKeyHeader, newIdempotencyKey, type RetryOptions, retryingFetch } from "./retry";
export { defaultBaseUrl, type TokenSource } from "./token";

type JsonOf<R> = R extends { content: { "application/json": infer T } } ? T : never;

/** A 200 answer of login and renew. */
export type IdentityAccessToken = JsonOf<operations["universalAuthLogin"]["responses"][200]>;
/** An entry of GET /api/v2/organizations/{organizationId}/memberships: a membership and its user. */
export type MembershipWithUser = JsonOf<operations["listOrgMemberships"]["responses"][200]>["users"][number];
/** A membership as bulkDeleteOrgMemberships returns it. */
export type Membership = JsonOf<operations["bulkDeleteOrgMemberships"]["responses"][200]>["memberships"][number];
/** A 200 answer of restoreOrgMemberships. */
export type RestoredMemberships = JsonOf<operations["restoreOrgMemberships"]["responses"][200]>;

export type FetchFn = (input: Request) => Promise<Response>;

export interface RosterRestClientOptions {
  /** Where Roster runs (default: `ROSTER_URL`, else `http://localhost:$PORT`, else port 3000). */
  baseUrl?: string;
  /** Sent as `Authorization: Bearer <token>`: a string, or a function asked before each request. */
  token?: TokenSource;
  /** A fetch implementation (default: the global one). */
  fetch?: FetchFn;
  /**
   * Retries of reads and of writes sent with an Idempotency-Key (retry.ts): on a network failure,
   * a timeout, a 5xx, a 429 or a 409 still running. Default: 5 attempts; `false` sends each request once.
   */
  retry?: RetryOptions | false;
}

export type RosterRestClient = Client<paths>;

/** An openapi-fetch client typed by Roster's OpenAPI document. */
export function createRosterRestClient(opts: RosterRestClientOptions): RosterRestClient {
  const base: FetchFn = opts.fetch ?? ((request) => fetch(request));
  const client = createClient<paths>({
    baseUrl: trimBaseUrl(opts.baseUrl ?? defaultBaseUrl()),
    fetch: opts.retry === false ? base : retryingFetch(base, opts.retry ?? {}),
  });
  const token = opts.token;
  if (token !== undefined) {
    client.use({
      async onRequest({ request }) {
        request.headers.set("authorization", `Bearer ${await resolveToken(token)}`);
        return request;
      },
    });
  }
  return client;
}

/** The data of a successful answer; a refusal is thrown as a RosterApiError. */
export function unwrap<R extends { data?: unknown; error?: unknown; response: Response }>(
  result: R,
): NonNullable<R["data"]> {
  if (result.response.ok && result.data !== undefined) return result.data as NonNullable<R["data"]>;
  throw restError(result.response, result.error);
}

interface CallOptions {
  fetch?: FetchFn;
}

/** POST /api/v1/auth/universal-auth/login: a machine identity's access token. */
export async function loginWithUniversalAuth(
  baseUrl: string,
  credentials: { clientId: string; clientSecret: string },
  opts: CallOptions = {},
): Promise<IdentityAccessToken> {
  const client = createRosterRestClient({ baseUrl, ...opts });
  return unwrap(
    await client.POST("/api/v1/auth/universal-auth/login", {
      body: { clientId: credentials.clientId, clientSecret: credentials.clientSecret },
    }),
  );
}

/** POST /api/v1/auth/token/renew: a new token for another TTL, never past the max TTL. */
export async function renewAccessToken(
  baseUrl: string,
  accessToken: string,
  opts: CallOptions = {},
): Promise<IdentityAccessToken> {
  const client = createRosterRestClient({ baseUrl, ...opts });
  return unwrap(await client.POST("/api/v1/auth/token/renew", { body: { accessToken } }));
}

/** POST /api/v1/auth/token/revoke: the token (and its renewals) stop working. */
export async function revokeAccessToken(baseUrl: string, accessToken: string, opts: CallOptions = {}): Promise<void> {
  const client = createRosterRestClient({ baseUrl, ...opts });
  unwrap(await client.POST("/api/v1/auth/token/revoke", { body: { accessToken } }));
}

/** A token source that logs in on first use, then renews or logs in again before the token expires. */
export type IdentityTokenSource = (() => Promise<string>) & {
  /** Revokes the current token, if any (the next use logs in afresh). */
  revoke(): Promise<void>;
};

export function identityTokenSource(
  opts: {
    /** Default: `ROSTER_URL`, else `http://localhost:$PORT`, else port 3000. */
    baseUrl?: string;
    clientId: string;
    clientSecret: string;
    /** The clock, in milliseconds (default Date.now). */
    now?: () => number;
  } & CallOptions,
): IdentityTokenSource {
  const call = opts.fetch ? { fetch: opts.fetch } : {};
  const baseUrl = opts.baseUrl ?? defaultBaseUrl();
  const now = opts.now ?? Date.now;
  let current: { token: string; ttlMs: number; refreshAt: number; loggedInAt: number; maxTtlMs: number } | null = null;
  let pending: Promise<string> | null = null;

  const adopt = (answer: IdentityAccessToken, loggedInAt: number): string => {
    const ttlMs = answer.expiresIn * 1000;
    current = {
      token: answer.accessToken,
      ttlMs,
      // A little early: a minute before expiry, or a quarter of the TTL when that is shorter.
      refreshAt: now() + ttlMs - Math.min(60_000, ttlMs / 4),
      loggedInAt,
      maxTtlMs: answer.accessTokenMaxTTL * 1000,
    };
    return answer.accessToken;
  };

  const refresh = async (): Promise<string> => {
    const previous = current;
    // The server renews only within the max TTL counted from the login (0: no max).
    if (previous && (previous.maxTtlMs === 0 || now() + previous.ttlMs <= previous.loggedInAt + previous.maxTtlMs)) {
      try {
        return adopt(await renewAccessToken(baseUrl, previous.token, call), previous.loggedInAt);
      } catch (err) {
        // Revoked or used up: log in again below; anything else is the caller's to see.
        if (!(err instanceof RosterApiError) || err.status !== 401) throw err;
      }
    }
    const loggedInAt = now();
    return adopt(await loginWithUniversalAuth(baseUrl, opts, call), loggedInAt);
  };

  const source = async (): Promise<string> => {
    if (current && now() < current.refreshAt) return current.token;
    pending ??= refresh().finally(() => {
      pending = null;
    });
    return pending;
  };
  source.revoke = async (): Promise<void> => {
    const token = current?.token;
    current = null;
    if (token) await revokeAccessToken(baseUrl, token, call);
  };
  return source;
}

/** GET /api/v2/organizations/{organizationId}/memberships: every user membership, with its user. */
export async function listOrgMemberships(
  client: RosterRestClient,
  organizationId: string,
): Promise<MembershipWithUser[]> {
  const data = unwrap(
    await client.GET("/api/v2/organizations/{organizationId}/memberships", { params: { path: { organizationId } } }),
  );
  return data.users;
}

/** A write's Idempotency-Key: one per request (a new random UUID when not given). */
export interface IdempotentCallOptions {
  /** Reuse a key only to retry the very same request (same ids, same organization). */
  idempotencyKey?: string;
}

/** What a write's answer says besides its data. */
interface AnswerMeta {
  /** The request id of the answer: the first attempt's when it is a replay. */
  reqId: string | null;
  /** True when the server gave the stored answer of an earlier attempt (Idempotent-Replayed). */
  replayed: boolean;
}

const metaOf = (response: Response): AnswerMeta => ({
  reqId: response.headers.get("x-request-id"),
  replayed: response.headers.get("idempotent-replayed") === "true",
});

/**
 * DELETE /api/v2/organizations/{organizationId}/memberships, with the answer's request id. Sent
 * with an Idempotency-Key, so the client's retries (timeouts, 5xx) never remove twice.
 */
export async function bulkDeleteOrgMemberships(
  client: RosterRestClient,
  organizationId: string,
  membershipIds: string[],
  opts: IdempotentCallOptions = {},
): Promise<{ memberships: Membership[] } & AnswerMeta> {
  const result = await client.DELETE("/api/v2/organizations/{organizationId}/memberships", {
    params: {
      path: { organizationId },
      header: { "Idempotency-Key": idempotencyKeyHeader(opts.idempotencyKey ?? newIdempotencyKey()) },
    },
    body: { membershipIds },
  });
  const data = unwrap(result);
  return { memberships: data.memberships, ...metaOf(result.response) };
}

/** POST /api/v2/organizations/{organizationId}/memberships/restore (undo of a removal), with an Idempotency-Key. */
export async function restoreOrgMemberships(
  client: RosterRestClient,
  organizationId: string,
  body: { batchId: string; skipConflicts?: boolean },
  opts: IdempotentCallOptions = {},
): Promise<RestoredMemberships & AnswerMeta> {
  const result = await client.POST("/api/v2/organizations/{organizationId}/memberships/restore", {
    params: {
      path: { organizationId },
      header: { "Idempotency-Key": idempotencyKeyHeader(opts.idempotencyKey ?? newIdempotencyKey()) },
    },
    body,
  });
  return { ...unwrap(result), ...metaOf(result.response) };
}
