// Requests to the running app over real HTTP, and their answers as tests read them: the raw
// response, and the normalised `Outcome` that the REST and tRPC surfaces share (./surfaces.ts).
import { baseUrl } from "@roster/api/testing";

export const JSON_CONTENT_TYPE = "application/json; charset=utf-8";
export const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
/** The peer address the server records for a test's request: IPv4 or IPv6 loopback, or IPv4 mapped to IPv6. */
export const LOOPBACK = /^(127\.0\.0\.1|::1|::ffff:127\.0\.0\.1)$/;

export const membershipsPath = (orgId: string) => `/api/v2/organizations/${orgId}/memberships`;
export const TRPC_BULK_DELETE_PATH = "/api/trpc/organizations.bulkDeleteMemberships";

/** Either surface's answer, normalised. */
export interface Outcome {
  status: number;
  /** The contract's `error` name (failures only). */
  error?: string;
  /** The message, or the array of issues of a 422. */
  message?: unknown;
  details?: unknown;
  /** The response data (200 only), as plain JSON. */
  data?: unknown;
  /** The request id the server used: REST's `x-request-id`, tRPC's context `reqId`. */
  reqId: string;
  /** Over HTTP only: the response as it came over the wire. */
  http?: RawResponse;
}

/** The methods a 405's Allow header names, sorted. */
export const allowedMethods = (headers: Headers): string[] =>
  (headers.get("allow") ?? "")
    .split(",")
    .map((m) => m.trim())
    .sort();

export interface RawRequest {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array<ArrayBuffer>;
  /** Another server than the run's (an extra instance, a load balancer). */
  base?: string;
  /**
   * To 127.0.0.1 rather than localhost, so that the peer address the server sees is known (a
   * trusted range of 127.0.0.0/8 then holds).
   */
  ipv4?: boolean;
  signal?: AbortSignal;
}

export interface RawResponse {
  status: number;
  headers: Headers;
  text: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  body: unknown;
}

/** The body as JSON, or undefined when it is not JSON. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export async function sendRaw(req: RawRequest): Promise<RawResponse> {
  const url = new URL(`${req.base ?? baseUrl()}${req.path}`);
  if (req.ipv4) url.hostname = "127.0.0.1";
  const res = await fetch(url, {
    method: req.method,
    headers: req.headers ?? {},
    redirect: "manual",
    ...(req.body !== undefined ? { body: req.body } : {}),
    ...(req.signal ? { signal: req.signal } : {}),
  });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, body: parseJson(text) };
}

/** A JSON body (`json`) or a form (`form`), with `bearer` as the token, over `sendRaw`. */
export function sendJson(
  method: string,
  path: string,
  opts: Omit<RawRequest, "method" | "path" | "body"> & {
    json?: unknown;
    form?: Record<string, string>;
    bearer?: string;
  } = {},
): Promise<RawResponse> {
  const { json, form, bearer, headers: given, ...rest } = opts;
  const headers: Record<string, string> = { ...given };
  if (bearer) headers.authorization = `Bearer ${bearer}`;
  let body: string | undefined;
  if (json !== undefined) {
    headers["content-type"] = "application/json";
    body = JSON.stringify(json);
  } else if (form) {
    headers["content-type"] = "application/x-www-form-urlencoded";
    body = new URLSearchParams(form).toString();
  }
  return sendRaw({ ...rest, method, path, headers, ...(body !== undefined ? { body } : {}) });
}

/** A REST response as an Outcome: the envelope's fields for a failure, the body for a 200. */
export function restOutcome(res: RawResponse): Outcome {
  const reqId = res.headers.get("x-request-id") ?? "";
  if (res.status === 200) return { status: 200, data: res.body, reqId, http: res };
  const env = (res.body ?? {}) as Record<string, unknown>;
  return {
    status: res.status,
    error: env.error as string | undefined,
    message: env.message,
    details: env.details,
    reqId,
    http: res,
  };
}

/** A tRPC-over-HTTP response (plain JSON, no transformer) as an Outcome, like `restOutcome`. */
export function trpcHttpOutcome(res: RawResponse): Outcome {
  const reqId = res.headers.get("x-request-id") ?? "";
  const body = (res.body ?? {}) as {
    result?: { data: unknown };
    error?: { message?: string; data?: { error?: string; details?: unknown; issues?: unknown } };
  };
  if (res.status === 200 && body.result) return { status: 200, data: body.result.data, reqId, http: res };
  const data = body.error?.data ?? {};
  return {
    status: res.status,
    error: data.error,
    message: data.issues ?? body.error?.message,
    details: data.details,
    reqId,
    http: res,
  };
}

/** A tRPC procedure called over HTTP the way a plain client calls it: POST /api/trpc/<path> with the input as JSON. */
export const trpcPost = (path: string, input: unknown, authorization: string | null): Promise<RawResponse> =>
  sendRaw({
    method: "POST",
    path: `/api/trpc/${path}`,
    headers: { "content-type": "application/json", ...(authorization ? { authorization } : {}) },
    body: JSON.stringify(input),
  });
