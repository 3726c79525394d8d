// The only initTRPC. Exports the router and procedure builders; every procedure's failure is
// mapped through error-map.ts (errorMapping, errorFormatter), so every procedure answers with the
// contract's status, `error` name, message and reqId.
import type { PermissionAction, PermissionSubject } from "@roster/contract";
import { initTRPC } from "@trpc/server";
import type { z } from "zod";
import {
  actorIdOf,
  type Caller,
  resolveMembership,
  resolveSession,
  type SessionPrincipal,
  verifyBearer,
} from "./auth/caller";
import type { InnerContext } from "./context";
import { appErrorOf, toTRPCError, trpcErrorShape } from "./error-map";
import {
  BadRequestError,
  ForbiddenError,
  InternalServerError,
  PermissionDeniedError,
  ServiceUnavailableError,
  UnauthorizedError,
} from "./errors";
import { IDEMPOTENCY_KEY_HEADER, parseIdempotencyKey } from "./idempotency-key";
import { getLogger } from "./logger";
import { can, rulesForSubject } from "./permissions";
import type { IdempotentRequest } from "./services/idempotency";
import { rateLimitSubjectOf, throttles } from "./services/throttles";

/** A procedure's declared traits. */
export interface ProcedureMeta {
  /** A write that takes an Idempotency-Key (services/idempotency.ts). */
  idempotent?: boolean;
}

const t = initTRPC
  .context<InnerContext>()
  .meta<ProcedureMeta>()
  .create({
    errorFormatter: ({ shape, error, ctx }) => ({
      ...shape,
      ...trpcErrorShape(shape, error, ctx?.requestLog.replayOf ?? ctx?.reqId ?? null),
    }),
  });

export const createTRPCRouter = t.router;
export const createCallerFactory = t.createCallerFactory;

/** Every failure leaves here as a TRPCError whose cause is an AppError; the unexpected are logged. */
const errorMapping = t.middleware(async ({ ctx, next, path }) => {
  const result = await next();
  if (result.ok) return result;
  const app = appErrorOf(result.error);
  if (app instanceof InternalServerError) {
    const cause = result.error.cause ?? result.error;
    getLogger().error({ reqId: ctx.reqId, path, err: cause }, "unexpected error");
  } else if (app instanceof ServiceUnavailableError) {
    const cause = result.error.cause ?? result.error;
    getLogger().warn({ reqId: ctx.reqId, path, err: cause }, "database unavailable");
  }
  return { ...result, error: toTRPCError(app) };
});

export const publicProcedure = t.procedure.use(errorMapping);

/**
 * Checks 1 to 5 before anything else: a bearer token is verified in full (it carries its
 * organization); a web sign-in has its session checked here and its membership per organization.
 */
export const authedProcedure = publicProcedure.use(async ({ ctx, next, type, meta, path }) => {
  let bearer: Caller | null = null;
  let principal: SessionPrincipal | null = null;
  switch (ctx.auth.kind) {
    case "resolved":
      bearer = ctx.auth.caller;
      break;
    case "bearer":
      bearer = await verifyBearer(ctx.prisma, ctx.auth.authorization, ctx.authSecret, { ip: ctx.ip });
      break;
    case "web":
      principal = await resolveSession(ctx.prisma, ctx.auth.session);
      break;
    default:
      throw new UnauthorizedError("Token missing");
  }
  if (bearer?.kind === "user") principal = bearer;
  ctx.requestLog.callerId = bearer ? actorIdOf(bearer) : (principal?.userId ?? null);
  // The rate limit, between checks 5 and 6: before the input is read. A caller resolved by the
  // REST adapter has spent its request there already.
  if (ctx.auth.kind !== "resolved") {
    const subject = bearer ? rateLimitSubjectOf(bearer) : ({ kind: "user", id: principal?.userId ?? "" } as const);
    const state = await throttles().rateLimits.spend(type === "query" ? "reads" : "writes", subject);
    if (state) ctx.requestLog.rateLimits = [...(ctx.requestLog.rateLimits ?? []), state];
  }
  // The Idempotency-Key, after the rate limit and before the input (check 6) is read: a write that
  // takes one checks it; any other mutation refuses one rather than run unprotected by it; a
  // query, safe to repeat, ignores it.
  let idempotencyKey: string | null = null;
  if (ctx.idempotencyKeyHeader !== null && type === "mutation") {
    if (!meta?.idempotent) throw new BadRequestError(`${path} does not take an ${IDEMPOTENCY_KEY_HEADER} header`);
    idempotencyKey = parseIdempotencyKey(ctx.idempotencyKeyHeader);
  }
  // `principal` is the signed-in user, if the caller is one; `bearer` the token's caller, if any.
  return next({ ctx: { principal, bearer, idempotencyKey } });
});

/**
 * The request's Idempotency-Key with what it is bound to, for a write's service, or null when the
 * request sent none. `operation` is the procedure's path.
 */
export function idempotencyOf(
  ctx: InnerContext & { idempotencyKey: string | null; caller: Caller },
  operation: string,
  input: unknown,
): IdempotentRequest | null {
  if (ctx.idempotencyKey === null) return null;
  return {
    key: ctx.idempotencyKey,
    caller: ctx.caller,
    operation,
    input,
    reqId: ctx.reqId,
    onReplay: (originalReqId) => {
      ctx.requestLog.replayOf = originalReqId;
    },
  };
}

/**
 * Check 8 (and check 5 for web sign-ins): the caller acting in `organizationId`.
 * Used by the organization procedures after their input is parsed (check 7).
 */
export async function scopeToOrganization(
  ctx: InnerContext & { principal: SessionPrincipal | null; bearer: Caller | null },
  organizationId: string,
): Promise<Caller> {
  if (ctx.bearer) {
    if (ctx.bearer.organizationId !== organizationId) {
      throw new ForbiddenError(
        `Your token is scoped to organization with ID ${ctx.bearer.organizationId}, but this resource belongs to a different organization.`,
      );
    }
    return ctx.bearer;
  }
  if (!ctx.principal) throw new UnauthorizedError("Token missing");
  return resolveMembership(ctx.prisma, ctx.principal, organizationId);
}

/** Check 9. */
export function requirePermission(caller: Caller, action: PermissionAction, subject: PermissionSubject): void {
  if (!can(caller.rules, action, subject)) {
    throw new PermissionDeniedError(
      `You are not allowed to ${action} on ${subject}`,
      rulesForSubject(caller.rules, subject),
    );
  }
}

/**
 * A procedure acting inside the organization its input names: input parsed (check 7), then
 * scope (check 8), then the permission (check 9). Every procedure of an organization names its
 * permission here; the bulk delete also checks it again in its service, under the row locks.
 * The resolver finds the caller in `ctx.caller`, and services take the organization from it
 * (`caller.organizationId`, which check 8 made the one the input names), never from the input.
 */
export function orgProcedure<TInput extends z.ZodType<{ organizationId: string }>>(
  input: TInput,
  permission: { action: PermissionAction; subject: PermissionSubject },
) {
  return authedProcedure.input(input).use(async ({ ctx, input: parsed, next }) => {
    const caller = await scopeToOrganization(ctx, (parsed as { organizationId: string }).organizationId);
    requirePermission(caller, permission.action, permission.subject);
    return next({ ctx: { caller } });
  });
}
