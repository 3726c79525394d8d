// The only initTRPC. Exports the router and procedure builders, and maps the service's errors to
// TRPCError in one place (errorMapping), so every procedure answers with the contract's status,
// `error` name, message and reqId.
import type { PermissionAction, PermissionSubject, ValidationIssue } from "@roster/contract";
import { initTRPC, TRPCError } from "@trpc/server";
import type { TRPC_ERROR_CODE_KEY } from "@trpc/server/rpc";
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
import {
  AppError,
  BadRequestError,
  ForbiddenError,
  INVALID_JSON,
  InternalServerError,
  PermissionDeniedError,
  ServiceUnavailableError,
  toAppError,
  UnauthorizedError,
  ValidationError,
} from "./errors";
import { IDEMPOTENCY_KEY_HEADER, parseIdempotencyKey } from "./idempotency-key";
import { getLogger } from "./logger";
import { can, rulesForSubject } from "./permissions";
import type { IdempotentRequest } from "./services/idempotency";
import { rateLimitSubjectOf, throttles } from "./services/throttles";

const CODE_BY_STATUS: Record<number, TRPC_ERROR_CODE_KEY> = {
  400: "BAD_REQUEST",
  401: "UNAUTHORIZED",
  403: "FORBIDDEN",
  404: "NOT_FOUND",
  405: "METHOD_NOT_SUPPORTED",
  409: "CONFLICT",
  413: "PAYLOAD_TOO_LARGE",
  415: "UNSUPPORTED_MEDIA_TYPE",
  422: "UNPROCESSABLE_CONTENT",
  429: "TOO_MANY_REQUESTS",
  500: "INTERNAL_SERVER_ERROR",
  503: "SERVICE_UNAVAILABLE",
};

const NAME_BY_STATUS: Record<number, string> = {
  400: "BadRequest",
  401: "UnauthorizedError",
  403: "ForbiddenError",
  404: "NotFound",
  405: "MethodNotAllowed",
  409: "Conflict",
  413: "PayloadTooLarge",
  415: "UnsupportedMediaType",
  422: "ValidationFailure",
  429: "RateLimitExceeded",
  500: "InternalServerError",
  503: "ServiceUnavailable",
};

/** Standard Schema / zod issues as the contract's `{ code, path, message }`. */
export function toValidationIssues(issues: readonly unknown[]): ValidationIssue[] {
  return issues.map((raw) => {
    const issue = raw as { code?: unknown; path?: readonly unknown[]; message?: unknown };
    return {
      code: typeof issue.code === "string" ? issue.code : "invalid",
      path: (issue.path ?? []).map((p) => {
        const key = typeof p === "object" && p !== null && "key" in p ? (p as { key: unknown }).key : p;
        return typeof key === "number" ? key : String(key);
      }),
      message: typeof issue.message === "string" ? issue.message : "Invalid value",
    };
  });
}

function issuesOf(cause: unknown): readonly unknown[] | null {
  const issues = (cause as { issues?: unknown } | undefined)?.issues;
  return Array.isArray(issues) ? issues : null;
}

/** The AppError behind any procedure failure (input validation included). */
export function appErrorOf(error: TRPCError): AppError {
  if (error.cause instanceof AppError) return error.cause;
  const issues = issuesOf(error.cause);
  if (error.code === "BAD_REQUEST" && issues) return new ValidationError(toValidationIssues(issues));
  // tRPC reads a procedure's input lazily, inside the procedure: a body (or `input` query
  // parameter) that is not JSON, or a batch whose input is not an object, fails there as a
  // BAD_REQUEST without issues. That is check 6, not a fault of the server.
  if (error.code === "BAD_REQUEST" || error.code === "PARSE_ERROR") return new BadRequestError(INVALID_JSON);
  return toAppError(error.cause);
}

/** An AppError as the TRPCError that carries it (its code follows the status). */
export function toTRPCError(app: AppError): TRPCError {
  return new TRPCError({
    code: CODE_BY_STATUS[app.status] ?? "INTERNAL_SERVER_ERROR",
    message: app.message,
    cause: app,
  });
}

/** A procedure's declared traits. */
export interface ProcedureMeta {
  /** A write that takes an Idempotency-Key (services/idempotency.ts). */
  idempotent?: boolean;
}

const t = initTRPC
  .context<InnerContext>()
  .meta<ProcedureMeta>()
  .create({
    errorFormatter({ shape, error, ctx }) {
      const app = error.cause instanceof AppError ? error.cause : null;
      const httpStatus = app?.status ?? shape.data.httpStatus;
      const issues = app instanceof ValidationError ? app.issues : undefined;
      return {
        ...shape,
        message: app?.message ?? (httpStatus >= 500 ? "Something went wrong" : shape.message),
        data: {
          code: shape.data.code,
          httpStatus,
          path: shape.data.path,
          error: app?.errorName ?? NAME_BY_STATUS[httpStatus] ?? "InternalServerError",
          // A replayed answer carries the id of the request that made it.
          reqId: ctx?.requestLog.replayOf ?? ctx?.reqId ?? null,
          ...(app && app.details !== undefined ? { details: app.details } : {}),
          ...(issues ? { issues } : {}),
        },
      };
    },
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
