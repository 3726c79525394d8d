// The OpenAPI 3 document of the REST surface, generated from the shared zod schemas.
import {
  BulkDeleteMembershipsResponse,
  bulkDeleteMembershipsBody,
  IdentityAccessTokenResponse,
  IdentityTokenBody,
  ListMembershipsRestResponse,
  ReqId,
  RestoreConflict,
  RestoreMembershipsBody,
  RestoreMembershipsResponse,
  RevokeIdentityTokenResponse,
  UniversalAuthLoginBody,
  ValidationIssue,
} from "@roster/contract";
import { z } from "zod";

type JsonSchema = Record<string, unknown>;

const schemaOf = (schema: z.ZodType, io: "input" | "output"): JsonSchema => {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, {
    target: "openapi-3.0",
    io,
    unrepresentable: "any",
  }) as JsonSchema;
  return rest;
};

/**
 * The error envelope as answered with one status: `details` only on 400 and 403, and a restore's
 * 409 (its conflicts). A 422's message is the list of issues (ValidationFailure), or a sentence
 * (UnprocessableContent: an Idempotency-Key reused for another request).
 */
function errorEnvelope(status: number): z.ZodType {
  const base = {
    reqId: ReqId,
    statusCode: z.literal(status),
    error: z.string(),
  };
  if (status === 422) return z.object({ ...base, message: z.union([z.array(ValidationIssue), z.string()]) }).strict();
  if (status === 400 || status === 403)
    return z.object({ ...base, message: z.string(), details: z.unknown().optional() }).strict();
  if (status === 409)
    return z.object({ ...base, message: z.string(), details: z.array(RestoreConflict).optional() }).strict();
  return z.object({ ...base, message: z.string() }).strict();
}

const DESCRIPTIONS: Record<number, string> = {
  200: "Success",
  400: "Bad request: invalid JSON, an invalid Idempotency-Key, own membership, or the last admin would be removed",
  401: "Missing, invalid, expired or revoked access token, or invalid credentials",
  403: "Not a member, other organization, permission denied, or privilege boundary",
  404: "Memberships (or the removal to restore) not found in the organization",
  409: "A request with this Idempotency-Key is still being processed (with Retry-After; retry once it has finished)",
  413: "Request body larger than 1 MiB",
  422: "Body or path fails the schema (ValidationFailure), or the Idempotency-Key was used for a different request (UnprocessableContent)",
  429: "Rate limit exceeded",
  500: "Unexpected error",
  503: "The database is unavailable (unreachable, or it dropped the connection); nothing was changed unless the removal had committed: retry shortly",
};

/**
 * The rate limit's headers (IETF httpapi-ratelimit-headers draft), sent on every answer given
 * after the caller is known: not on a 401, nor when the budget is turned off.
 */
const RATE_LIMIT_HEADERS = {
  "RateLimit-Policy": {
    description: 'The budget this request spends, e.g. `"writes";q=1200;w=60` (requests per 60 s window).',
    schema: { type: "string" },
  },
  RateLimit: {
    description:
      'What is left of it, e.g. `"writes";r=1187;t=42` (requests remaining; seconds until the window resets).',
    schema: { type: "string" },
  },
};

const RETRY_AFTER_HEADER = {
  "Retry-After": { description: "Seconds to wait before trying again.", schema: { type: "integer", minimum: 1 } },
};

/**
 * The Idempotency-Key request header (IETF httpapi-idempotency-key-header draft) and the header
 * that marks a replayed answer; see docs/idempotency.md.
 */
const idempotencyKeyParameter = {
  in: "header",
  name: "Idempotency-Key",
  required: false,
  description:
    'Makes the request safe to retry: a quoted string (RFC 8941 sf-string) of 1 to 255 characters, new for each request, e.g. `"8e03978e-40d5-43e8-bc93-6894a57f9324"`. Scoped to the caller and kept 24 h: a retry with the same key and body gets the first answer again (with `Idempotent-Replayed: true` and the first request\'s `x-request-id`), the same key with another body answers 422, and while the first request runs a retry answers 409. An invalid key answers 400.',
  schema: { type: "string", minLength: 3, maxLength: 512 },
};

const REPLAY_HEADERS = {
  "Idempotent-Replayed": {
    description:
      "`true` on an answer stored under the request's Idempotency-Key and given again; its `x-request-id` and `reqId` are the first request's.",
    schema: { type: "string", enum: ["true"] },
  },
};

function errorResponses(statuses: number[], descriptions: Record<number, string> = {}): Record<string, unknown> {
  return Object.fromEntries(
    statuses.map((status) => [
      String(status),
      {
        description: descriptions[status] ?? DESCRIPTIONS[status],
        ...(status === 429 ? { headers: { ...RETRY_AFTER_HEADER, ...RATE_LIMIT_HEADERS } } : {}),
        ...(status === 409 ? { headers: RETRY_AFTER_HEADER } : {}),
        content: { "application/json": { schema: schemaOf(errorEnvelope(status), "output") } },
      },
    ]),
  );
}

/** A public Universal Auth operation: JSON or form body, no bearer token. */
function identityAuthOperation(opts: {
  operationId: string;
  description: string;
  body: z.ZodType;
  response: z.ZodType;
  errors: number[];
}) {
  const schema = schemaOf(opts.body, "input");
  return {
    post: {
      tags: ["Machine identities"],
      description: opts.description,
      operationId: opts.operationId,
      requestBody: {
        required: true,
        content: { "application/json": { schema }, "application/x-www-form-urlencoded": { schema } },
      },
      responses: {
        "200": {
          description: "Success",
          headers: RATE_LIMIT_HEADERS,
          content: { "application/json": { schema: schemaOf(opts.response, "output") } },
        },
        ...errorResponses(opts.errors),
      },
    },
  };
}

const organizationIdParameter = {
  schema: { type: "string", format: "uuid" },
  in: "path",
  name: "organizationId",
  required: true,
  description: "The ID of the organization to delete the memberships from.",
};

export function buildOpenApiDocument(opts: { maxBulkDelete: number; serverUrl?: string }) {
  return {
    openapi: "3.0.3",
    info: {
      title: "Roster API",
      description:
        "Remove organization members safely, one or thousands at a time. Compatible with the bulkDeleteOrgMemberships operation of the Infisical API.",
      version: "1.0.0",
    },
    servers: opts.serverUrl ? [{ url: opts.serverUrl }] : [],
    security: [],
    paths: {
      "/api/v1/auth/universal-auth/login": identityAuthOperation({
        operationId: "universalAuthLogin",
        description: "Log in as a machine identity with its client id and client secret",
        body: UniversalAuthLoginBody,
        response: IdentityAccessTokenResponse,
        errors: [400, 401, 403, 413, 422, 429, 500, 503],
      }),
      "/api/v1/auth/token/renew": identityAuthOperation({
        operationId: "renewAccessToken",
        description: "Renew a machine identity's access token for another TTL, within its max TTL",
        body: IdentityTokenBody,
        response: IdentityAccessTokenResponse,
        errors: [400, 401, 413, 422, 429, 500, 503],
      }),
      "/api/v1/auth/token/revoke": identityAuthOperation({
        operationId: "revokeAccessToken",
        description: "Revoke a machine identity's access token",
        body: IdentityTokenBody,
        response: RevokeIdentityTokenResponse,
        errors: [400, 401, 413, 422, 429, 500, 503],
      }),
      "/api/v2/organizations/{organizationId}/memberships": {
        delete: {
          tags: ["Organizations"],
          description: "Bulk delete organization user memberships",
          operationId: "bulkDeleteOrgMemberships",
          parameters: [organizationIdParameter, idempotencyKeyParameter],
          requestBody: {
            required: true,
            content: {
              "application/json": { schema: schemaOf(bulkDeleteMembershipsBody(opts.maxBulkDelete), "input") },
            },
          },
          responses: {
            "200": {
              description: "The deleted memberships, in the order their ids were first given",
              headers: { ...RATE_LIMIT_HEADERS, ...REPLAY_HEADERS },
              content: { "application/json": { schema: schemaOf(BulkDeleteMembershipsResponse, "output") } },
            },
            ...errorResponses([400, 401, 403, 404, 409, 413, 422, 429, 500, 503]),
          },
          security: [{ bearerAuth: [] }],
        },
        get: {
          tags: ["Organizations"],
          description: "List the organization's user memberships",
          operationId: "listOrgMemberships",
          parameters: [{ ...organizationIdParameter, description: "The ID of the organization." }],
          responses: {
            "200": {
              description: "Every user membership of the organization, with its user (null for invites)",
              headers: RATE_LIMIT_HEADERS,
              content: { "application/json": { schema: schemaOf(ListMembershipsRestResponse, "output") } },
            },
            ...errorResponses([401, 403, 422, 429, 500, 503]),
          },
          security: [{ bearerAuth: [] }],
        },
      },
      "/api/v2/organizations/{organizationId}/memberships/restore": {
        post: {
          tags: ["Organizations"],
          description:
            "Undo a bulk delete: put the memberships of a removal (its request id) back as they were, within RESTORE_WINDOW_DAYS",
          operationId: "restoreOrgMemberships",
          parameters: [
            {
              ...organizationIdParameter,
              description: "The ID of the organization the memberships were removed from.",
            },
            idempotencyKeyParameter,
          ],
          requestBody: {
            required: true,
            content: { "application/json": { schema: schemaOf(RestoreMembershipsBody, "input") } },
          },
          responses: {
            "200": {
              description: "The memberships put back, and what skipConflicts left out",
              headers: { ...RATE_LIMIT_HEADERS, ...REPLAY_HEADERS },
              content: { "application/json": { schema: schemaOf(RestoreMembershipsResponse, "output") } },
            },
            ...errorResponses([400, 401, 403, 404, 409, 413, 422, 429, 500, 503], {
              400: "Bad request: invalid JSON, or an invalid Idempotency-Key",
              409: "The removal cannot be restored as it was: details lists each conflict, and nothing was restored. Or, with Retry-After and no details, a request with this Idempotency-Key is still being processed",
            }),
          },
          security: [{ bearerAuth: [] }],
        },
      },
    },
    components: {
      securitySchemes: {
        bearerAuth: {
          type: "http",
          scheme: "bearer",
          bearerFormat: "JWT",
          description: "A Roster access token (`npm run token`), scoped to one organization",
        },
      },
    },
  };
}
