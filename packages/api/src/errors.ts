// The service's error classes. Each knows its status and contract `error` name; they are mapped
// to the REST envelope and to TRPCError in exactly one place each (rest/envelope.ts, trpc.ts).
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

/** Any thrown value as an AppError; the unexpected become a 500 (the cause is logged, never sent). */
export function toAppError(err: unknown): AppError {
  return err instanceof AppError ? err : new InternalServerError();
}
