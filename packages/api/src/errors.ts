// The service's error classes. Each knows its status, contract `error` name and message; the
// REST envelope and the tRPC error are made from them in one place, error-map.ts.
import type { ErrorName, ValidationIssue } from "@roster/contract";

export abstract class AppError extends Error {
  abstract readonly status: number;
  abstract readonly errorName: ErrorName;
  readonly details: unknown;
  /** Extra response headers (for example WWW-Authenticate). */
  headers: Record<string, string> = {};

  constructor(message: string, details?: unknown) {
    super(message);
    this.details = details;
  }
}

const BEARER = "Bearer";
const INVALID_TOKEN = 'Bearer error="invalid_token"';

export class UnauthorizedError extends AppError {
  readonly status = 401;
  readonly errorName = "UnauthorizedError";
  override headers = { "WWW-Authenticate": BEARER };
}

export class TokenError extends AppError {
  readonly status = 401;
  readonly errorName = "TokenError";
  override headers = { "WWW-Authenticate": INVALID_TOKEN };
  static malformed() {
    return new TokenError(
      "The provided access token is malformed. Please use a valid token or generate a new one and try again.",
    );
  }
  static invalidAlgorithm() {
    return new TokenError(
      "The access token is signed with an invalid algorithm. Please provide a valid token and try again.",
    );
  }
  static invalid() {
    return new TokenError("The provided access token is invalid.");
  }
  static expired() {
    return new TokenError("Your token has expired. Please re-authenticate.");
  }
}

export class StaleSessionError extends AppError {
  readonly status = 401;
  readonly errorName = "StaleSession";
  override headers = { "WWW-Authenticate": INVALID_TOKEN };
  constructor() {
    super("User session is stale, please re-authenticate");
  }
}

/** Check 4: a token with no organization. */
export class NoOrganizationError extends UnauthorizedError {
  override headers = { "WWW-Authenticate": INVALID_TOKEN };
  constructor() {
    super("Unauthorized Access, no organization found in request");
  }
}

export class ForbiddenError extends AppError {
  readonly status = 403;
  readonly errorName = "ForbiddenError";
}

export class BadRequestError extends AppError {
  readonly status = 400;
  readonly errorName = "BadRequest";
}

/** Check 6: a body missing, not JSON, or not sent as JSON. */
export const INVALID_JSON = "Request body must be valid JSON";

export class PayloadTooLargeError extends AppError {
  readonly status = 413;
  readonly errorName = "PayloadTooLarge";
}

export class ValidationError extends AppError {
  readonly status = 422;
  readonly errorName = "ValidationFailure";
  constructor(readonly issues: ValidationIssue[]) {
    super("Validation failed");
  }
}

export class PermissionDeniedError extends AppError {
  readonly status = 403;
  readonly errorName = "PermissionDenied";
}

export class NotFoundError extends AppError {
  readonly status = 404;
  readonly errorName = "NotFound";
}

export class PermissionBoundaryError extends AppError {
  readonly status = 403;
  readonly errorName = "PermissionBoundaryError";
}

/** A restore that would clash with what changed since the removal; `details` lists each clash. */
export class ConflictError extends AppError {
  readonly status = 409;
  readonly errorName = "Conflict";
}

/**
 * Idempotency-Key: a request under this key is still running (its transaction holds the key).
 * Retry-After tells a client that this 409, unlike a restore's, is worth retrying.
 */
export class IdempotencyKeyInUseError extends AppError {
  readonly status = 409;
  readonly errorName = "Conflict";
  constructor() {
    super("A request with this Idempotency-Key is still being processed. Retry once it has finished.");
    this.headers = { "Retry-After": "1" };
  }
}

/** Idempotency-Key: the key was first used for another request (operation, organization or body). */
export class IdempotencyKeyReusedError extends AppError {
  readonly status = 422;
  readonly errorName = "UnprocessableContent";
  constructor() {
    super(
      "This Idempotency-Key was already used for a different request (another operation, organization or body). Use a new key for a new request.",
    );
  }
}

/** A failure answer stored under an Idempotency-Key, given again to a retry of the same request. */
export class ReplayedError extends AppError {
  readonly status: number;
  readonly errorName: ErrorName;
  constructor(answer: { status: number; error: ErrorName; message: string; details?: unknown }) {
    super(answer.message, answer.details);
    this.status = answer.status;
    this.errorName = answer.error;
  }
}

export class RateLimitError extends AppError {
  readonly status = 429;
  readonly errorName = "RateLimitExceeded";
  constructor(retryAfterSeconds: number) {
    super(`Rate limit exceeded. Please try again in ${retryAfterSeconds} seconds`);
    this.headers = { "Retry-After": String(retryAfterSeconds) };
  }
}

export class MethodNotAllowedError extends AppError {
  readonly status = 405;
  readonly errorName = "MethodNotAllowed";
}

export class InternalServerError extends AppError {
  readonly status = 500;
  readonly errorName = "InternalServerError";
  constructor() {
    super("Something went wrong");
  }
}

export class ServiceUnavailableError extends AppError {
  readonly status = 503;
  readonly errorName = "ServiceUnavailable";
  constructor() {
    super("The database is unavailable. Please try again shortly.");
  }
}

/**
 * Prisma's codes for a database it cannot reach or lost: P1001 cannot reach, P1002 and P1008
 * timed out, P1017 server closed the connection, P2024 no pool connection in time, P2028 a
 * transaction that could not start or was lost.
 */
const PRISMA_UNAVAILABLE = new Set(["P1001", "P1002", "P1008", "P1017", "P2024", "P2028"]);
/** PostgreSQL's: class 08 (connection exception), 57P01 to 57P03 (shutdown, cannot connect now). */
const PG_UNAVAILABLE = /^(08[0-9A-Z]{3}|57P0[123])$/;
/** Node's socket errors. */
const SOCKET_UNAVAILABLE = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "ENOTFOUND", "EAI_AGAIN"]);
/** The driver adapter's kinds for a lost or unreachable server. */
const ADAPTER_UNAVAILABLE = new Set(["DatabaseNotReachable", "ConnectionClosed", "SocketTimeout"]);
/** pg's own messages for a lost connection or a query its timeouts gave up on (no code on these). */
const PG_MESSAGES =
  /Connection terminated|connection timeout|timeout exceeded when trying to connect|Query read timeout|not queryable|terminating connection|Client was closed/i;

/**
 * Whether a failure means the database is unreachable or dropped the connection (a 503 the
 * client may retry), rather than a fault of the service. Follows `cause` and Prisma's
 * `meta.driverAdapterError` a few levels down.
 */
export function isDatabaseUnavailable(err: unknown, depth = 0): boolean {
  if (!err || typeof err !== "object" || depth > 5) return false;
  const e = err as { code?: unknown; kind?: unknown; message?: unknown; cause?: unknown; meta?: unknown };
  if (typeof e.code === "string") {
    if (PRISMA_UNAVAILABLE.has(e.code) || PG_UNAVAILABLE.test(e.code) || SOCKET_UNAVAILABLE.has(e.code)) return true;
  }
  if (typeof e.kind === "string" && ADAPTER_UNAVAILABLE.has(e.kind)) return true;
  if (e.kind === "postgres" && typeof (e as { code?: unknown }).code === "string") return false;
  if (typeof e.message === "string" && PG_MESSAGES.test(e.message)) return true;
  const adapterError = (e.meta as { driverAdapterError?: unknown } | undefined)?.driverAdapterError;
  return isDatabaseUnavailable(e.cause, depth + 1) || isDatabaseUnavailable(adapterError, depth + 1);
}

/** PostgreSQL's unique and foreign-key violations, as the driver adapter and Prisma name them. */
const CONSTRAINT_CODES = new Set(["23505", "23503", "P2002", "P2003"]);
const CONSTRAINT_KINDS = new Set(["UniqueConstraintViolation", "ForeignKeyConstraintViolation"]);

/**
 * Whether a failure is a unique index or a foreign key refusing a write: for a statement that
 * read first, a concurrent writer it could not see. Follows `cause`, `meta` and Prisma's
 * `meta.driverAdapterError` a few levels down.
 */
export function isConstraintViolation(err: unknown, depth = 0): boolean {
  if (!err || typeof err !== "object" || depth > 5) return false;
  const e = err as { code?: unknown; kind?: unknown; cause?: unknown; meta?: unknown };
  if (typeof e.code === "string" && CONSTRAINT_CODES.has(e.code)) return true;
  if (typeof e.kind === "string" && CONSTRAINT_KINDS.has(e.kind)) return true;
  const adapterError = (e.meta as { driverAdapterError?: unknown } | undefined)?.driverAdapterError;
  return (
    isConstraintViolation(e.cause, depth + 1) ||
    isConstraintViolation(adapterError, depth + 1) ||
    isConstraintViolation(e.meta, depth + 1)
  );
}

/**
 * Any thrown value as an AppError: a lost or unreachable database becomes a 503; the other
 * unexpected failures a 500 (the cause is logged, never sent).
 */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  return isDatabaseUnavailable(err) ? new ServiceUnavailableError() : new InternalServerError();
}
