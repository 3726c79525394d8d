// The error map, in one place: each error class knows its status, contract `error` name and
// message (errors.ts); here they become the REST envelope and the tRPC error (its code and the
// `data` the contract's tRPC surface carries), and any failure of a procedure, including input
// validation and unreadable JSON, is read back as the AppError it stands for. The REST adapter
// (http/rest.ts), the tRPC builders (trpc.ts) and the tRPC HTTP handler all map through here.
import type { ErrorEnvelope, ValidationIssue } from "@roster/contract";
import { TRPCError } from "@trpc/server";
import type { TRPC_ERROR_CODE_KEY } from "@trpc/server/rpc";
import { AppError, BadRequestError, INVALID_JSON, toAppError, ValidationError } from "./errors";

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

/** Any failure as the AppError it stands for (a TRPCError's cause, or toAppError). */
export function asAppError(err: unknown): AppError {
  return err instanceof TRPCError ? appErrorOf(err) : toAppError(err);
}

/** The contract's error envelope of an AppError (REST). */
export function errorEnvelope(err: AppError, reqId: string): ErrorEnvelope {
  const body: ErrorEnvelope = {
    reqId,
    statusCode: err.status,
    message: err instanceof ValidationError ? err.issues : err.message,
    error: err.errorName,
  };
  // The contract's 400 and 403 carry details; so does a restore's 409 (the list of conflicts).
  if ((err.status === 400 || err.status === 403 || err.status === 409) && err.details !== undefined) {
    body.details = err.details;
  }
  return body;
}

/**
 * The `message` and `data` of a tRPC error as the contract's tRPC surface carries them: the
 * status, `error` name, reqId, and `details` or `issues` where the REST envelope has them.
 */
export function trpcErrorShape(
  shape: { message: string; data: { code: TRPC_ERROR_CODE_KEY; httpStatus: number; path?: string } },
  error: TRPCError,
  reqId: string | null,
) {
  const app = error.cause instanceof AppError ? error.cause : null;
  const httpStatus = app?.status ?? shape.data.httpStatus;
  const issues = app instanceof ValidationError ? app.issues : undefined;
  return {
    message: app?.message ?? (httpStatus >= 500 ? "Something went wrong" : shape.message),
    data: {
      code: shape.data.code,
      httpStatus,
      path: shape.data.path,
      error: app?.errorName ?? NAME_BY_STATUS[httpStatus] ?? "InternalServerError",
      // A replayed answer carries the id of the request that made it.
      reqId,
      ...(app && app.details !== undefined ? { details: app.details } : {}),
      ...(issues ? { issues } : {}),
    },
  };
}
