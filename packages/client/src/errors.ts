import type { ValidationIssue } from "@roster/contract";

/** What a failed call carries, from either surface: the contract's status, `error` name, message and reqId. */
export interface RosterErrorInit {
  status: number;
  /** The contract's `error` name, such as `NotFound` or `PermissionBoundaryError`. */
  error: string;
  message: string;
  /** The server's request id (`req-…`), also in its log; null when the answer carried none. */
  reqId: string | null;
  /** The envelope's `details` (400 and 403 only). */
  details?: unknown;
  /** A 422's issues (its message is then their summary). */
  issues?: ValidationIssue[];
}

/** A refusal from the Roster API. `message` is the server's message (a 422's issues, summarised). */
export class RosterApiError extends Error {
  readonly status: number;
  readonly error: string;
  readonly reqId: string | null;
  readonly details: unknown;
  readonly issues: ValidationIssue[] | undefined;

  constructor(init: RosterErrorInit, options?: { cause?: unknown }) {
    super(init.message, options);
    this.name = "RosterApiError";
    this.status = init.status;
    this.error = init.error;
    this.reqId = init.reqId;
    this.details = init.details;
    this.issues = init.issues;
  }

  /** One line: `404 NotFound: Memberships not found … (req-…)`. */
  describe(): string {
    return `${this.status} ${this.error}: ${this.message}${this.reqId ? ` (${this.reqId})` : ""}`;
  }
}

export function summarizeIssues(issues: readonly ValidationIssue[]): string {
  return issues.map((i) => (i.path.length > 0 ? `${i.path.join(".")}: ${i.message}` : i.message)).join("; ");
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null;

function isIssueList(v: unknown): v is ValidationIssue[] {
  return Array.isArray(v) && v.every((i) => isRecord(i) && typeof i.message === "string" && Array.isArray(i.path));
}

/**
 * The error of a REST answer: the envelope `{ reqId, statusCode, message, error, details? }` when
 * the body is one, else (a proxy's page, say) the HTTP status with the `x-request-id` header.
 */
export function restError(response: Response, body: unknown): RosterApiError {
  const headerReqId = response.headers.get("x-request-id");
  if (
    isRecord(body) &&
    typeof body.error === "string" &&
    (typeof body.message === "string" || isIssueList(body.message))
  ) {
    const issues = isIssueList(body.message) ? body.message : undefined;
    return new RosterApiError({
      status: typeof body.statusCode === "number" ? body.statusCode : response.status,
      error: body.error,
      message: issues ? summarizeIssues(issues) : (body.message as string),
      reqId: typeof body.reqId === "string" ? body.reqId : headerReqId,
      ...(body.details !== undefined ? { details: body.details } : {}),
      ...(issues ? { issues } : {}),
    });
  }
  return new RosterApiError({
    status: response.status,
    error: "HttpError",
    message: `${response.status} ${response.statusText || "response"} without an error envelope`.trim(),
    reqId: headerReqId,
  });
}
