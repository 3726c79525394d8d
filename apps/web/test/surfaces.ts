// One operation, two surfaces: the REST route over real HTTP and the tRPC procedure through a
// server-side caller. Both answers are normalised to one `Outcome`, so a scenario table asserts
// once and runs through both. Also what those tables share: demo data lookups, forged tokens,
// before/after snapshots of the rows a bulk delete may touch, the contract's texts, and the
// runner that checks every row (a failure changes nothing; a 200 removes exactly what it names).
import { createHmac, randomBytes } from "node:crypto";
import http from "node:http";
import { createCaller, createInnerContext } from "@roster/api";
import { issueAccessToken } from "@roster/api/auth";
import { baseUrl, memberOf, orgOf, reseed, testDb } from "@roster/api/testing";
import { getConfig } from "@roster/config";
import {
  type DemoManifest,
  type ManifestOrganization,
  PERMISSION_ACTIONS,
  PERMISSION_SUBJECTS,
  type ValidationIssue,
} from "@roster/contract";
import type { Db } from "@roster/db";
import type { TRPCError } from "@trpc/server";
import { getHTTPStatusCodeFromError } from "@trpc/server/http";
import { describe, expect, it } from "vitest";

export type SurfaceName = "rest" | "trpc";

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
  /** REST only: the response as it came over the wire. */
  http?: RawResponse;
}

export interface Call {
  /** The Authorization header, or null for none. */
  authorization: string | null;
  orgId: string;
}

export interface Surface {
  readonly name: SurfaceName;
  /** What the surface records as the request's origin (audit events' ip and user agent). */
  readonly origin: { ip: unknown; userAgent: string };
  /** bulkDeleteOrgMemberships with `body` as the JSON body (REST) or the input's other keys (tRPC). */
  bulkDelete(call: Call & { body: unknown }): Promise<Outcome>;
  /** The companion read: `{ users }` (tRPC: every page of listMemberships, as the REST route does). */
  listMemberships(call: Call): Promise<Outcome>;
  /** Undo of a removal: POST .../memberships/restore with `body` (tRPC: restoreMemberships). */
  restore(call: Call & { body: Record<string, unknown> }): Promise<Outcome>;
}

export const JSON_CONTENT_TYPE = "application/json; charset=utf-8";
export const REQ_ID = /^req-[A-Za-z0-9]{14}$/;
export const ISO_MS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;

export const membershipsPath = (orgId: string) => `/api/v2/organizations/${orgId}/memberships`;

// ---------------------------------------------------------------------------------------------
// REST over HTTP

export interface RawRequest {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array<ArrayBuffer>;
}

export interface RawResponse {
  status: number;
  headers: Headers;
  text: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  body: unknown;
}

export async function sendRaw(req: RawRequest): Promise<RawResponse> {
  const res = await fetch(`${baseUrl()}${req.path}`, {
    method: req.method,
    headers: req.headers ?? {},
    redirect: "manual",
    ...(req.body !== undefined ? { body: req.body } : {}),
  });
  const text = await res.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: res.status, headers: res.headers, text, body };
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

/** A client-written X-Forwarded-For that the server must not believe (no TRUST_PROXY in tests). */
const SPOOFED_FORWARDED_FOR = "203.0.113.7";
export const LOOPBACK = /^(127\.0\.0\.1|::1|::ffff:127\.0\.0\.1)$/;
const REST_ORIGIN = { ip: expect.stringMatching(LOOPBACK), userAgent: "roster-scenarios/rest" };

export function restHeaders(authorization: string | null, extra: Record<string, string> = {}): Record<string, string> {
  return {
    "user-agent": REST_ORIGIN.userAgent,
    "x-forwarded-for": SPOOFED_FORWARDED_FOR,
    ...(authorization !== null ? { authorization } : {}),
    ...extra,
  };
}

export const rest: Surface = {
  name: "rest",
  origin: REST_ORIGIN,
  async bulkDelete({ authorization, orgId, body }) {
    return restOutcome(
      await sendRaw({
        method: "DELETE",
        path: membershipsPath(orgId),
        headers: restHeaders(authorization, { "content-type": "application/json" }),
        body: JSON.stringify(body),
      }),
    );
  },
  async listMemberships({ authorization, orgId }) {
    return restOutcome(
      await sendRaw({ method: "GET", path: membershipsPath(orgId), headers: restHeaders(authorization) }),
    );
  },
  async restore({ authorization, orgId, body }) {
    return restOutcome(
      await sendRaw({
        method: "POST",
        path: `${membershipsPath(orgId)}/restore`,
        headers: restHeaders(authorization, { "content-type": "application/json" }),
        body: JSON.stringify(body),
      }),
    );
  },
};

// ---------------------------------------------------------------------------------------------
// tRPC through a server-side caller

const ALPHANUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
export function newReqId(): string {
  return `req-${[...randomBytes(14)].map((b) => ALPHANUM[b % ALPHANUM.length]).join("")}`;
}

const TRPC_ORIGIN = { ip: "198.51.100.9", userAgent: "roster-scenarios/trpc" };

interface AppErrorLike {
  status: number;
  errorName: string;
  message: string;
  details?: unknown;
  issues?: unknown;
}

function isAppError(cause: unknown): cause is AppErrorLike {
  const c = cause as Partial<AppErrorLike> | undefined;
  return typeof c?.status === "number" && typeof c.errorName === "string";
}

async function trpcCall(
  authorization: string | null,
  fn: (caller: ReturnType<typeof createCaller>) => Promise<unknown>,
): Promise<Outcome> {
  const reqId = newReqId();
  const caller = createCaller(
    createInnerContext({
      prisma: await testDb(),
      auth: authorization !== null ? { kind: "bearer", authorization } : { kind: "none" },
      reqId,
      ip: TRPC_ORIGIN.ip,
      userAgent: TRPC_ORIGIN.userAgent,
    }),
  );
  try {
    const data = await fn(caller);
    return { status: 200, data: JSON.parse(JSON.stringify(data)), reqId };
  } catch (err) {
    // By name: the api package may resolve its own copy of @trpc/server.
    if (!isTRPCError(err)) throw err;
    const cause = err.cause;
    if (!isAppError(cause)) throw new Error(`a TRPCError without an AppError cause: ${err.code} ${err.message}`);
    const status = getHTTPStatusCodeFromError(err);
    if (status !== cause.status)
      throw new Error(`TRPCError code ${err.code} (${status}) disagrees with ${cause.status}`);
    return {
      status: cause.status,
      error: cause.errorName,
      message: cause.status === 422 ? cause.issues : err.message,
      details: cause.details,
      reqId,
    };
  }
}

function isTRPCError(err: unknown): err is TRPCError {
  return err instanceof Error && err.name === "TRPCError" && typeof (err as { code?: unknown }).code === "string";
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

export const trpc: Surface = {
  name: "trpc",
  origin: TRPC_ORIGIN,
  bulkDelete({ authorization, orgId, body }) {
    if (!isPlainObject(body)) throw new Error("the tRPC input is an object: mark this row REST-only");
    const input = { organizationId: orgId, ...body } as Parameters<
      ReturnType<typeof createCaller>["organizations"]["bulkDeleteMemberships"]
    >[0];
    return trpcCall(authorization, (c) => c.organizations.bulkDeleteMemberships(input));
  },
  listMemberships({ authorization, orgId }) {
    return trpcCall(authorization, async (c) => {
      const users: unknown[] = [];
      for (let cursor: string | null = null; ; ) {
        const page = await c.organizations.listMemberships({
          organizationId: orgId,
          limit: 500,
          sortBy: "createdAt",
          cursor,
        });
        users.push(...page.items.map(({ projectCount: _, ...m }) => m));
        cursor = page.nextCursor;
        if (!cursor) return { users };
      }
    });
  },
  restore({ authorization, orgId, body }) {
    const input = { organizationId: orgId, ...body } as Parameters<
      ReturnType<typeof createCaller>["organizations"]["restoreMemberships"]
    >[0];
    return trpcCall(authorization, (c) => c.organizations.restoreMemberships(input));
  },
};

export const SURFACES: readonly Surface[] = [rest, trpc];

/** A tRPC caller as `email` (or anonymous), for the procedures without a REST route. */
export async function trpcCallerFor(authorization: string | null, reqId = newReqId()) {
  return createCaller(
    createInnerContext({
      prisma: await testDb(),
      auth: authorization !== null ? { kind: "bearer", authorization } : { kind: "none" },
      reqId,
    }),
  );
}

// ---------------------------------------------------------------------------------------------
// Races over HTTP: requests armed on warm connections, then sent together

export const TRPC_BULK_DELETE_PATH = "/api/trpc/organizations.bulkDeleteMemberships";

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

/** One keep-alive connection for one side of a race, so no request of the race pays for a connect. */
export const racerAgent = (): http.Agent => new http.Agent({ keepAlive: true, maxSockets: 1 });

export interface Armed {
  /** Sends the request (written in full at once) and resolves with its answer. */
  fire(): Promise<Outcome>;
}

/**
 * A bulk delete over HTTP (REST, or tRPC at /api/trpc) with its body serialised and its
 * connection taken from `agent` and open, but nothing sent yet. Racing requests are armed first
 * and fired together, so each side starts from the same point: neither pays for JSON encoding,
 * a TCP connect or a cold route while the other is already on its way.
 */
export async function armBulkDelete(
  agent: http.Agent,
  surface: SurfaceName,
  call: Call & { membershipIds: readonly string[] },
): Promise<Armed> {
  const url = new URL(baseUrl());
  const isRest = surface === "rest";
  const body = Buffer.from(
    JSON.stringify(
      isRest
        ? { membershipIds: call.membershipIds }
        : { organizationId: call.orgId, membershipIds: call.membershipIds },
    ),
  );
  const headers = {
    "user-agent": `roster-races/${surface}`,
    "content-type": "application/json",
    "content-length": String(body.length),
    ...(call.authorization !== null ? { authorization: call.authorization } : {}),
  };
  const req = http.request({
    agent,
    host: url.hostname,
    port: url.port,
    method: isRest ? "DELETE" : "POST",
    path: isRest ? membershipsPath(call.orgId) : TRPC_BULK_DELETE_PATH,
    headers,
  });
  const answered = new Promise<RawResponse>((resolve, reject) => {
    req.once("error", reject);
    req.once("response", (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.once("error", reject);
      res.once("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        const h = new Headers();
        for (const [name, value] of Object.entries(res.headers)) {
          for (const v of Array.isArray(value) ? value : value === undefined ? [] : [value]) h.append(name, v);
        }
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: h, text, body: parsed });
      });
    });
  });
  // Until fired, a failure surfaces through `ready` below (or later through `fire`).
  answered.catch(() => {});
  await Promise.race([
    new Promise<void>((resolve) =>
      req.once("socket", (socket) => (socket.connecting ? socket.once("connect", () => resolve()) : resolve())),
    ),
    answered.then(() => {
      throw new Error("answered before it was sent");
    }),
  ]);
  return {
    fire() {
      req.end(body);
      return answered.then(isRest ? restOutcome : trpcHttpOutcome);
    },
  };
}

/** Logs a machine identity in (Universal Auth) and returns `Bearer <access token>`. */
export async function identityBearer(creds: { clientId: string; clientSecret: string }): Promise<string> {
  const res = await sendRaw({
    method: "POST",
    path: "/api/v1/auth/universal-auth/login",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ clientId: creds.clientId, clientSecret: creds.clientSecret }),
  });
  const token = (res.body as { accessToken?: unknown } | undefined)?.accessToken;
  if (res.status !== 200 || typeof token !== "string") throw new Error(`identity login: ${res.status} ${res.text}`);
  return `Bearer ${token}`;
}

// ---------------------------------------------------------------------------------------------
// Fixtures from the demo manifest

export interface Fx {
  manifest: DemoManifest;
  acme: ManifestOrganization;
  globex: ManifestOrganization;
  /** The membership id of `email` in the organization (acme by default). */
  id(email: string, org?: "acme" | "globex"): string;
  userId(email: string, org?: "acme" | "globex"): string;
  /** `Bearer <token>` of `email` for the organization. */
  bearer(email: string, org?: "acme" | "globex"): string;
  /** Values a row's setup made for its request. */
  vars: Record<string, string[]>;
}

export function fixtures(manifest: DemoManifest): Fx {
  return {
    manifest,
    acme: orgOf(manifest, "acme"),
    globex: orgOf(manifest, "globex"),
    id: (email, org = "acme") => memberOf(manifest, org, email).membershipId,
    userId: (email, org = "acme") => {
      const id = memberOf(manifest, org, email).userId;
      if (!id) throw new Error(`${email} has no user`);
      return id;
    },
    bearer: (email, org = "acme") => {
      const token = memberOf(manifest, org, email).accessToken;
      if (!token) throw new Error(`${email} in ${org} has no token`);
      return `Bearer ${token}`;
    },
    vars: {},
  };
}

/**
 * The demo data, reseeded only when something changed it since the last call: rows that fail
 * change nothing (and assert so), so they can share one seed.
 */
export class Seeded {
  private fx: Fx | null = null;
  /** The next `get` reseeds. */
  dirty(): void {
    this.fx = null;
  }
  async get(): Promise<Fx> {
    if (!this.fx) this.fx = fixtures(await reseed());
    this.fx.vars = {};
    return this.fx;
  }
}

// ---------------------------------------------------------------------------------------------
// Tokens

const b64url = (s: string) => Buffer.from(s).toString("base64url");

export function claimsOf(authorization: string): Record<string, unknown> {
  const token = authorization.replace(/^Bearer\s+/i, "");
  return JSON.parse(Buffer.from(token.split(".")[1] ?? "", "base64url").toString("utf8"));
}

/** A JWT with any header, claims and HMAC (or no signature when `hmac` is null). */
export function signJwt(
  header: Record<string, unknown>,
  claims: Record<string, unknown>,
  hmac: { hash: "sha256" | "sha384" | "sha512"; secret: string } | null,
): string {
  const signingInput = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  const signature = hmac ? createHmac(hmac.hash, hmac.secret).update(signingInput).digest("base64url") : "";
  return `${signingInput}.${signature}`;
}

export const serverSecret = (): string => getConfig().authSecret;

/** `base`'s claims (a real token's), changed by `patch`, signed HS256 with the server's secret unless told otherwise. */
export function forgeBearer(
  base: string,
  patch: Record<string, unknown> = {},
  opts: { alg?: string; hmac?: { hash: "sha256" | "sha384" | "sha512"; secret: string } | null } = {},
): string {
  const claims = { ...claimsOf(base), ...patch };
  for (const [k, v] of Object.entries(patch)) if (v === undefined) delete claims[k];
  const hmac = opts.hmac === undefined ? { hash: "sha256" as const, secret: serverSecret() } : opts.hmac;
  return `Bearer ${signJwt({ alg: opts.alg ?? "HS256", typ: "JWT" }, claims, hmac)}`;
}

// ---------------------------------------------------------------------------------------------
// The rows a bulk delete touches, before and after

export const MEMBERSHIP_KEYS = [
  "createdAt",
  "id",
  "inviteEmail",
  "isActive",
  "lastInvitedAt",
  "lastLoginAuthMethod",
  "lastLoginTime",
  "orgId",
  "projectFavorites",
  "role",
  "roleId",
  "status",
  "updatedAt",
  "userId",
] as const;

/** Every column of a membership the contract returns, with its user: what tests compare answers with. */
export const membershipWithUserSelect = {
  id: true,
  role: true,
  status: true,
  inviteEmail: true,
  createdAt: true,
  updatedAt: true,
  userId: true,
  orgId: true,
  roleId: true,
  projectFavorites: true,
  isActive: true,
  lastInvitedAt: true,
  lastLoginAuthMethod: true,
  lastLoginTime: true,
  user: { select: { id: true, email: true, username: true, firstName: true, lastName: true } },
} as const;

async function membershipRows(db: Db) {
  return db.orgMembership.findMany({ select: membershipWithUserSelect });
}
export type MembershipSnapshot = Awaited<ReturnType<typeof membershipRows>>[number];

const iso = (d: Date | null) => (d === null ? null : d.toISOString());

/** The contract's 14 keys for a membership row, computed independently of the service's mapper. */
export function expectedMembership(row: MembershipSnapshot): Record<string, unknown> {
  return {
    id: row.id,
    role: row.role === "no_access" ? "no-access" : row.role,
    status: row.status,
    inviteEmail: row.inviteEmail,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
    userId: row.userId,
    orgId: row.orgId,
    roleId: row.roleId,
    projectFavorites: row.projectFavorites,
    isActive: row.isActive,
    lastInvitedAt: iso(row.lastInvitedAt),
    lastLoginAuthMethod: row.lastLoginAuthMethod,
    lastLoginTime: iso(row.lastLoginTime),
  };
}

export function expectedMembershipWithUser(row: MembershipSnapshot): Record<string, unknown> {
  return { ...expectedMembership(row), user: row.user };
}

export interface DbState {
  memberships: Map<string, MembershipSnapshot>;
  projectMemberships: Map<string, { userId: string; projectId: string; orgId: string; updatedAt: string }>;
  /** project_membership_roles: id -> its project membership id */
  projectMembershipRoles: Map<string, string>;
  users: Map<string, string>;
  auditEventIds: Set<string>;
  /** Machine identities' memberships (never a bulk delete's target). */
  identityMemberships: Set<string>;
}

export async function dbState(db: Db): Promise<DbState> {
  const [memberships, pms, roles, users, audit, identityMemberships] = await Promise.all([
    membershipRows(db),
    db.projectMembership.findMany({
      select: { id: true, userId: true, projectId: true, updatedAt: true, project: { select: { orgId: true } } },
    }),
    db.projectMembershipRole.findMany({ select: { id: true, projectMembershipId: true } }),
    db.user.findMany({ select: { id: true, email: true } }),
    db.auditEvent.findMany({ select: { id: true } }),
    db.identityOrgMembership.findMany({ select: { id: true } }),
  ]);
  return {
    memberships: new Map(memberships.map((m) => [m.id, m])),
    projectMemberships: new Map(
      pms.map((p) => [
        p.id,
        { userId: p.userId, projectId: p.projectId, orgId: p.project.orgId, updatedAt: p.updatedAt.toISOString() },
      ]),
    ),
    projectMembershipRoles: new Map(roles.map((r) => [r.id, r.projectMembershipId])),
    users: new Map(users.map((u) => [u.id, u.email])),
    auditEventIds: new Set(audit.map((a) => a.id)),
    identityMemberships: new Set(identityMemberships.map((m) => m.id)),
  };
}

/** The row counts an error must leave as they were. */
export async function rowCounts(db: Db) {
  const [orgMemberships, projectMemberships, projectMembershipRoles, auditEvents, users, identityMemberships] =
    await Promise.all([
      db.orgMembership.count(),
      db.projectMembership.count(),
      db.projectMembershipRole.count(),
      db.auditEvent.count(),
      db.user.count(),
      db.identityOrgMembership.count(),
    ]);
  return { orgMemberships, projectMemberships, projectMembershipRoles, auditEvents, users, identityMemberships };
}

/** Counts plus a digest of every membership row, so that an update would show too. */
export async function unchangedProbe(db: Db) {
  const rows = await membershipRows(db);
  const digest = rows
    .map((r) => JSON.stringify(expectedMembership(r)))
    .sort()
    .join("\n");
  return { counts: await rowCounts(db), digest };
}

/** A deterministic shuffle (the same order on every run). */
export function shuffled<T>(items: readonly T[], seed = 42): T[] {
  const out = [...items];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2147483648;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Scenario tables: rows of the contract's table, run through both surfaces.
// The contract's texts are written out here rather than imported from the implementation.

export const MAX_BULK_DELETE = 1000;
export const MiB = 1024 * 1024;
export const MSG = {
  tokenMissing: "Token missing",
  malformed: "The provided access token is malformed. Please use a valid token or generate a new one and try again.",
  badAlgorithm: "The access token is signed with an invalid algorithm. Please provide a valid token and try again.",
  invalid: "The provided access token is invalid.",
  expired: "Your token has expired. Please re-authenticate.",
  stale: "User session is stale, please re-authenticate",
  noOrganization: "Unauthorized Access, no organization found in request",
  notMember: "User not member of organization",
  inactive: "User organization membership is inactive",
  badJson: "Request body must be valid JSON",
  tooLarge: "Request body is larger than 1048576 bytes",
  scope: (tokenOrgId: string) =>
    `Your token is scoped to organization with ID ${tokenOrgId}, but this resource belongs to a different organization.`,
  denied: "You are not allowed to delete on member",
  self: "You cannot delete your own organization membership",
  notFound: (orgId: string, missing: string[], more = 0) =>
    `Memberships not found in organization ${orgId}: ${missing.join(", ")}${more ? ` and ${more} more` : ""}`,
  boundary: (membershipId: string) =>
    `Failed to remove member ${membershipId} from the organization: your privileges do not cover theirs`,
  lastAdmin: "This action would leave the organization with no admin. Promote another user to admin first.",
};
export const DELETED_EVENT = "organization.membership.deleted";

export const UNKNOWN = [
  "0b9f6c1e-5d2a-4c8e-9f3b-7a1d2e4c6b80",
  "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f",
  "2d3e4f5a-6b7c-4d8e-9fa0-1b2c3d4e5f60",
];
export const manyUnknown = (n: number) =>
  Array.from({ length: n }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`);

export type Fn<T> = (fx: Fx) => T;

export interface ErrorExpect {
  status: number;
  error: string;
  message: string | ValidationIssue[] | Fn<string | ValidationIssue[]>;
  /** Asserted when given; otherwise the answer must carry none. */
  details?: unknown;
}

export interface SuccessExpect {
  status: 200;
  /** The membership ids the response lists, in this order (the ids first given, once each). */
  removed: Fn<string[]>;
  /** How many project memberships go with them, when the row pins it. */
  projectMembershipsGone?: number;
}

export interface Scenario {
  name: string;
  /** Rows about the HTTP request itself (body bytes, headers, methods, paths). */
  restOnly?: true;
  /** Changes the data before the request (the next row starts from a fresh seed). */
  setup?: (fx: Fx, db: Db) => Promise<void>;
  /** The Authorization header; may make a token (sessions only, never rows the table looks at). */
  as: (fx: Fx, db: Db) => string | null | Promise<string | null>;
  /** The path's organization id (acme by default). */
  org?: Fn<string>;
  /** The body's ids (the body is then `{ membershipIds }`). */
  ids?: Fn<string[]>;
  /** The whole body, for rows about its shape. */
  body?: Fn<unknown>;
  /** REST-only rows: the HTTP request as sent. */
  request?: (fx: Fx, authorization: string | null, orgId: string) => RawRequest;
  expect: ErrorExpect | SuccessExpect;
}

export const as =
  (email: string, org: "acme" | "globex" = "acme") =>
  (fx: Fx) =>
    fx.bearer(email, org);
export const idsOf =
  (...emails: string[]) =>
  (fx: Fx) =>
    emails.map((e) => fx.id(e));
export const acmeId = (fx: Fx) => fx.acme.id;
export const users = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => `user${String(from + i).padStart(3, "0")}@acme.test`);

export const ADMIN = "admin@acme.test";
export const ADMIN2 = "admin2@acme.test";
export const MEMBER = "member@acme.test";
export const NOACCESS = "noaccess@acme.test";
export const REMOVER = "remover@acme.test";

export const issue = (code: string, path: (string | number)[], message: string): ValidationIssue => ({
  code,
  path,
  message,
});
export const badUuid = (path: (string | number)[]) => issue("invalid_format", path, "Invalid UUID");

/** A custom role with every action on every subject (it covers an admin's rules), given to `emails`. */
export async function grantEverything(fx: Fx, db: Db, ...emails: string[]) {
  const role = await db.orgRoleDefinition.create({
    data: {
      orgId: fx.acme.id,
      slug: "everything",
      name: "Everything",
      permissions: PERMISSION_SUBJECTS.map((subject) => ({ subject, actions: [...PERMISSION_ACTIONS] })),
    },
    select: { id: true },
  });
  await db.orgMembership.updateMany({
    where: { id: { in: emails.map((e) => fx.id(e)) } },
    data: { role: "custom", roleId: role.id },
  });
}

/** A fresh session for `email` in acme, changed by `change`, and its token. */
export async function sessionToken(fx: Fx, db: Db, email: string, change: (sessionId: string) => Promise<unknown>) {
  const issued = await issueAccessToken(db, serverSecret(), { userId: fx.userId(email), organizationId: fx.acme.id });
  await change(issued.sessionId);
  return `Bearer ${issued.token}`;
}

export const jsonRequest =
  (
    body: string | Uint8Array<ArrayBuffer>,
    contentType: string | null = "application/json",
    path = (orgId: string) => membershipsPath(orgId),
  ) =>
  (_fx: Fx, authorization: string | null, orgId: string): RawRequest => ({
    method: "DELETE",
    path: path(orgId),
    headers: restHeaders(authorization, contentType === null ? {} : { "content-type": contentType }),
    body,
  });

/** `{"membershipIds":[]}` padded with white space to exactly `bytes` bytes. */
export const paddedEmptyBody = (bytes: number) => {
  const json = '{"membershipIds":[]}';
  return `${json}${" ".repeat(bytes - json.length)}`;
};

export const methodNotAllowed = (method: string): Scenario => ({
  name: `6/405: ${method} is not allowed, before any other check`,
  restOnly: true,
  as: () => null,
  request: (_fx, _auth, orgId) => ({
    method,
    path: membershipsPath(orgId),
    headers: restHeaders(null, { "content-type": "application/json" }),
    body: "{",
  }),
  expect: { status: 405, error: "MethodNotAllowed", message: `Method ${method} is not allowed on this route` },
});

// ---------------------------------------------------------------------------------------------
// Running a row

const isSuccess = (e: ErrorExpect | SuccessExpect): e is SuccessExpect => e.status === 200;

/** What every REST answer carries: the JSON type, a request id, and for a failure the envelope. */
function expectRestWire(outcome: Outcome, expected: ErrorExpect | SuccessExpect) {
  const http = outcome.http;
  if (!http) throw new Error("a REST outcome without its response");
  expect(http.headers.get("content-type")).toBe(JSON_CONTENT_TYPE);
  expect(outcome.reqId).toMatch(REQ_ID);
  if (isSuccess(expected)) {
    expect(http.headers.get("www-authenticate")).toBeNull();
    return;
  }
  const env = http.body as Record<string, unknown>;
  const keys = ["error", "message", "reqId", "statusCode"];
  if (expected.details !== undefined) keys.push("details");
  expect(Object.keys(env).sort()).toEqual(keys.sort());
  expect(env.reqId).toBe(outcome.reqId);
  expect(env.statusCode).toBe(http.status);
  const www = http.headers.get("www-authenticate");
  if (http.status !== 401) expect(www).toBeNull();
  else expect(www).toBe(expected.message === MSG.tokenMissing ? "Bearer" : 'Bearer error="invalid_token"');
  if (http.status === 405) {
    expect(
      (http.headers.get("allow") ?? "")
        .split(",")
        .map((m) => m.trim())
        .sort(),
    ).toEqual(["DELETE", "GET"]);
  }
}

function expectFailure(outcome: Outcome, expected: ErrorExpect, fx: Fx) {
  const message = typeof expected.message === "function" ? expected.message(fx) : expected.message;
  expect({ status: outcome.status, error: outcome.error, message: outcome.message }).toEqual({
    status: expected.status,
    error: expected.error,
    message,
  });
  if (expected.details !== undefined) expect(outcome.details).toEqual(expected.details);
  else expect(outcome.details).toBeUndefined();
  expect(outcome.data).toBeUndefined();
}

const differing = <V>(a: Map<string, V>, b: Map<string, V>) =>
  [...a.keys()].filter((k) => JSON.stringify(a.get(k)) !== JSON.stringify(b.get(k)));

async function expectRemoved(
  db: Db,
  surface: Surface,
  outcome: Outcome,
  before: DbState,
  opts: { removed: string[]; orgId: string; actorId: string; projectMembershipsGone?: number },
) {
  const { removed, orgId } = opts;
  expect(outcome.status, JSON.stringify(outcome.http?.body ?? outcome.message)).toBe(200);

  // The response: exactly the removed rows, the contract's 14 keys each, in the order first given.
  const data = outcome.data as { memberships: Record<string, unknown>[] };
  expect(Object.keys(data)).toEqual(["memberships"]);
  expect(data.memberships.map((m) => m.id)).toEqual(removed);
  for (const m of data.memberships) {
    expect(Object.keys(m).sort()).toEqual([...MEMBERSHIP_KEYS]);
    for (const key of ["createdAt", "updatedAt"]) expect(m[key]).toMatch(ISO_MS);
    for (const key of ["lastInvitedAt", "lastLoginTime"]) if (m[key] !== null) expect(m[key]).toMatch(ISO_MS);
    expect(Array.isArray(m.projectFavorites)).toBe(true);
  }
  const targets = removed.map((id) => {
    const row = before.memberships.get(id);
    if (!row) throw new Error(`${id} was not there before`);
    return row;
  });
  expect(data.memberships).toEqual(targets.map(expectedMembership));

  const after = await dbState(db);
  // Exactly those memberships are gone; every other row is as it was.
  const keptMemberships = new Map(before.memberships);
  for (const id of removed) keptMemberships.delete(id);
  expect([...after.memberships.keys()].sort()).toEqual([...keptMemberships.keys()].sort());
  expect(differing(keptMemberships, after.memberships)).toEqual([]);

  // Their project memberships in this organization's projects are gone, with their role rows.
  const goneUsers = new Set(targets.flatMap((t) => (t.userId ? [t.userId] : [])));
  const keptPms = new Map(
    [...before.projectMemberships].filter(([, pm]) => !(pm.orgId === orgId && goneUsers.has(pm.userId))),
  );
  expect([...after.projectMemberships.keys()].sort()).toEqual([...keptPms.keys()].sort());
  expect(differing(keptPms, after.projectMemberships)).toEqual([]);
  if (opts.projectMembershipsGone !== undefined) {
    expect(before.projectMemberships.size - after.projectMemberships.size).toBe(opts.projectMembershipsGone);
  }
  const keptRoles = new Map([...before.projectMembershipRoles].filter(([, pmId]) => keptPms.has(pmId)));
  expect(after.projectMembershipRoles).toEqual(keptRoles);

  // User rows stay, and so do machine identities' memberships.
  expect(after.users).toEqual(before.users);
  expect(after.identityMemberships).toEqual(before.identityMemberships);

  // One audit event per removed membership, sharing the request id as the batch.
  const newIds = [...after.auditEventIds].filter((id) => !before.auditEventIds.has(id));
  const events = await db.auditEvent.findMany({ where: { id: { in: newIds } } });
  expect(events).toHaveLength(removed.length);
  expect(events.map((e) => e.targetId).sort()).toEqual([...removed].sort());
  const byTarget = new Map(targets.map((t) => [t.id, t]));
  for (const e of events) {
    const t = byTarget.get(e.targetId as string) as (typeof targets)[number];
    expect(e).toMatchObject({
      orgId,
      actorType: "user",
      actorId: opts.actorId,
      eventType: DELETED_EVENT,
      targetType: "org_membership",
      batchId: outcome.reqId,
      ip: surface.origin.ip,
      userAgent: surface.origin.userAgent,
      metadata: {
        userId: t.userId,
        email: t.user?.email ?? t.inviteEmail,
        role: t.role === "no_access" ? "no-access" : t.role,
        status: t.status,
      },
    });
  }
}

/**
 * Runs every row through both surfaces (REST-only rows through REST alone), one test each. Rows
 * that fail change nothing, and share a seed; a row with a setup or a removal reseeds the next.
 */
export function describeScenarios(title: string, scenarios: readonly Scenario[]): void {
  describe.each(SURFACES)(`${title} over $name`, (surface) => {
    const seeded = new Seeded();
    const rows = scenarios.filter((row) => !row.restOnly || surface.name === "rest");

    it.each(rows)("$name", async (row) => {
      const db = await testDb();
      const fx = await seeded.get();
      if (row.setup) {
        seeded.dirty();
        await row.setup(fx, db);
      }
      const authorization = await row.as(fx, db);
      const orgId = (row.org ?? acmeId)(fx);
      const expected = row.expect;
      const success = isSuccess(expected);
      const beforeState = success ? await dbState(db) : null;
      const beforeProbe = success ? null : await unchangedProbe(db);

      let outcome: Outcome;
      if (row.request) {
        if (surface.name !== "rest") throw new Error("a raw request row must be REST-only");
        outcome = restOutcome(await sendRaw(row.request(fx, authorization, orgId)));
      } else {
        const body = row.body ? row.body(fx) : { membershipIds: row.ids ? row.ids(fx) : [] };
        outcome = await surface.bulkDelete({ authorization, orgId, body });
      }
      if (surface.name === "rest") expectRestWire(outcome, expected);
      else expect(outcome.reqId).toMatch(REQ_ID);

      if (success) {
        const removed = expected.removed(fx);
        if (removed.length > 0) seeded.dirty();
        const actorId = claimsOf(authorization as string).userId as string;
        await expectRemoved(db, surface, outcome, beforeState as DbState, {
          removed,
          orgId: orgId.toLowerCase(),
          actorId,
          projectMembershipsGone: expected.projectMembershipsGone,
        });
      } else {
        expectFailure(outcome, expected, fx);
        expect(await unchangedProbe(db)).toEqual(beforeProbe);
      }
    });
  });
}

export { baseUrl, testDb };
