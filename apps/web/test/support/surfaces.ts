// One operation, two surfaces: the REST route over real HTTP and the tRPC procedure through a
// server-side caller. Both answers are normalised to one `Outcome` (./http.ts), so a test asserts
// once and runs through both.
import { createCaller, createInnerContext } from "@roster/api";
import { newReqId, testDb } from "@roster/api/testing";
import type { TRPCError } from "@trpc/server";
import { getHTTPStatusCodeFromError } from "@trpc/server/http";
import { expect } from "vitest";
import { LOOPBACK, membershipsPath, type Outcome, restOutcome, sendRaw } from "./http";

export type SurfaceName = "rest" | "trpc";

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

// ---------------------------------------------------------------------------------------------
// REST over HTTP

/** A client-written X-Forwarded-For that the server must not believe (no TRUST_PROXY in tests). */
const SPOOFED_FORWARDED_FOR = "203.0.113.7";
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

const TRPC_ORIGIN = { ip: "198.51.100.9", userAgent: "roster-scenarios/trpc" };

export type TrpcCaller = ReturnType<typeof createCaller>;

/** A tRPC caller with `authorization` (or anonymous), as a request from `ip` with id `reqId` would have. */
export async function trpcCallerFor(
  authorization: string | null,
  opts: { reqId?: string; ip?: string | null; userAgent?: string } = {},
): Promise<TrpcCaller> {
  return createCaller(
    createInnerContext({
      prisma: await testDb(),
      auth: authorization !== null ? { kind: "bearer", authorization } : { kind: "none" },
      reqId: opts.reqId ?? newReqId(),
      ...(opts.ip !== undefined ? { ip: opts.ip } : {}),
      ...(opts.userAgent !== undefined ? { userAgent: opts.userAgent } : {}),
    }),
  );
}

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

// By name: the api package may resolve its own copy of @trpc/server.
function isTRPCError(err: unknown): err is TRPCError {
  return err instanceof Error && err.name === "TRPCError" && typeof (err as { code?: unknown }).code === "string";
}

/** A procedure's answer: its data as plain JSON, or the contract's status, error name and message of its failure. */
export async function procedureOutcome(run: () => Promise<unknown>): Promise<Omit<Outcome, "reqId">> {
  try {
    return { status: 200, data: JSON.parse(JSON.stringify(await run())) };
  } catch (err) {
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
    };
  }
}

async function trpcCall(authorization: string | null, fn: (caller: TrpcCaller) => Promise<unknown>): Promise<Outcome> {
  const reqId = newReqId();
  const caller = await trpcCallerFor(authorization, { reqId, ...TRPC_ORIGIN });
  return { ...(await procedureOutcome(() => fn(caller))), reqId };
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

export const trpc: Surface = {
  name: "trpc",
  origin: TRPC_ORIGIN,
  bulkDelete({ authorization, orgId, body }) {
    if (!isPlainObject(body)) throw new Error("the tRPC input is an object: mark this row REST-only");
    const input = { organizationId: orgId, ...body } as Parameters<
      TrpcCaller["organizations"]["bulkDeleteMemberships"]
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
        // The REST listing has no project count: drop it, so both surfaces answer alike.
        users.push(...page.items.map(({ projectCount: _, ...m }) => m));
        cursor = page.nextCursor;
        if (!cursor) return { users };
      }
    });
  },
  restore({ authorization, orgId, body }) {
    const input = { organizationId: orgId, ...body } as Parameters<
      TrpcCaller["organizations"]["restoreMemberships"]
    >[0];
    return trpcCall(authorization, (c) => c.organizations.restoreMemberships(input));
  },
};

export const SURFACES: readonly Surface[] = [rest, trpc];
