import { z } from "zod";

/** The `error` names of the contract's table, one per kind of failure. */
export const ERROR_NAMES = [
  "UnauthorizedError",
  "TokenError",
  "StaleSession",
  "ForbiddenError",
  "BadRequest",
  "PayloadTooLarge",
  "ValidationFailure",
  "UnprocessableContent",
  "PermissionDenied",
  "NotFound",
  "PermissionBoundaryError",
  "Conflict",
  "RateLimitExceeded",
  "MethodNotAllowed",
  "InternalServerError",
  "ServiceUnavailable",
] as const;
export type ErrorName = (typeof ERROR_NAMES)[number];

/** `req-` followed by 14 letters and digits. */
export const ReqId = z.string().regex(/^req-[A-Za-z0-9]{14}$/);

export const ValidationIssue = z.object({
  code: z.string(),
  path: z.array(z.union([z.string(), z.number()])),
  message: z.string(),
});
export type ValidationIssue = z.infer<typeof ValidationIssue>;

/** The error envelope: `details` only on 400, 403 and 409 (a restore's conflicts), no other key. */
export const ErrorEnvelope = z
  .object({
    reqId: ReqId,
    statusCode: z.number().int(),
    message: z.union([z.string(), z.array(ValidationIssue)]),
    error: z.string(),
    details: z.unknown().optional(),
  })
  .strict();
export type ErrorEnvelope = z.infer<typeof ErrorEnvelope>;
