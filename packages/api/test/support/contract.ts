// The contract's texts and numbers, written out here rather than imported from the
// implementation, so that a test fails when the implementation drifts from the contract.
import type { ValidationIssue } from "@roster/contract";

export const MAX_BULK_DELETE = 1000;
export const MiB = 1024 * 1024;
/** The audit event a removal writes per membership. */
export const DELETED_EVENT = "organization.membership.deleted";

export const MSG = {
  // Checks 1 to 5: the caller
  tokenMissing: "Token missing",
  malformed: "The provided access token is malformed. Please use a valid token or generate a new one and try again.",
  badAlgorithm: "The access token is signed with an invalid algorithm. Please provide a valid token and try again.",
  invalid: "The provided access token is invalid.",
  expired: "Your token has expired. Please re-authenticate.",
  stale: "User session is stale, please re-authenticate",
  noOrganization: "Unauthorized Access, no organization found in request",
  notMember: "User not member of organization",
  inactive: "User organization membership is inactive",
  // Checks 6 to 13: the request
  badJson: "Request body must be valid JSON",
  tooLarge: "Request body is larger than 1048576 bytes",
  scope: (tokenOrgId: string) =>
    `Your token is scoped to organization with ID ${tokenOrgId}, but this resource belongs to a different organization.`,
  notAllowed: (action: string, subject: string) => `You are not allowed to ${action} on ${subject}`,
  denied: "You are not allowed to delete on member",
  self: "You cannot delete your own organization membership",
  notFound: (orgId: string, missing: string[], more = 0) =>
    `Memberships not found in organization ${orgId}: ${missing.join(", ")}${more ? ` and ${more} more` : ""}`,
  boundary: (membershipId: string) =>
    `Failed to remove member ${membershipId} from the organization: your privileges do not cover theirs`,
  lastAdmin: "This action would leave the organization with no admin. Promote another user to admin first.",
  // Machine identities: Universal Auth, their tokens, their management
  invalidCredentials: "Invalid credentials",
  ipNotAllowed: "You are not allowed to access this resource from the current IP address",
  expiredSecret: "Access denied due to expired client secret",
  secretUsedUp: "Access denied due to client secret usage limit reached",
  noToken: "No identity access token found",
  pastMaxTTL: "Failed to renew MI access token past its Max TTL expiration",
  renewUserToken: "Only identity access tokens can be renewed",
  revokeUserToken: "Only identity access tokens can be revoked",
  revoked: "Successfully revoked access token",
  rateLimited: (s: number) => `Rate limit exceeded. Please try again in ${s} seconds`,
  roleBoundary: "Failed to assign the role: your privileges do not cover it",
  identityBoundary: (name: string, id: string) =>
    `Failed to act on identity ${name} (${id}): your privileges do not cover theirs`,
  // The database
  unavailable: "The database is unavailable. Please try again shortly.",
};

/** A rate limit's refusal, with its seconds to wait as the first group. */
export const RATE_LIMITED = /^Rate limit exceeded\. Please try again in (\d+) seconds$/;

export const issue = (code: string, path: (string | number)[], message: string): ValidationIssue => ({
  code,
  path,
  message,
});
export const badUuid = (path: (string | number)[]) => issue("invalid_format", path, "Invalid UUID");
