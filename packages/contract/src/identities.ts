// Machine identities: Universal Auth (wire-compatible with the upstream service) and their management.
import { z } from "zod";
import { IsoDateTime, OrgRole, TrimmedUuid, Uuid } from "./memberships";

const TEN_YEARS = 315_360_000;

export const UniversalAuthLoginBody = z.object({
  clientId: z.string().trim().min(1, "clientId is required").max(200),
  clientSecret: z.string().trim().min(1, "clientSecret is required").max(500),
});
export type UniversalAuthLoginBody = z.infer<typeof UniversalAuthLoginBody>;

export const IdentityTokenBody = z.object({
  accessToken: z.string().trim().min(1, "accessToken is required").max(8192),
});
export type IdentityTokenBody = z.infer<typeof IdentityTokenBody>;

/** Login and renew answer alike; times in seconds. */
export const IdentityAccessTokenResponse = z
  .object({
    accessToken: z.string(),
    expiresIn: z.number().int(),
    accessTokenMaxTTL: z.number().int(),
    tokenType: z.literal("Bearer"),
  })
  .strict();
export type IdentityAccessTokenResponse = z.infer<typeof IdentityAccessTokenResponse>;

export const RevokeIdentityTokenResponse = z.object({ message: z.string() }).strict();

const Cidr = z
  .string()
  .trim()
  .regex(/^[0-9a-fA-F:.]+(\/\d{1,3})?$/, "Expected an IP address or CIDR range such as 10.0.0.0/8");

export const UniversalAuthSettings = z
  .object({
    accessTokenTTL: z.number().int().min(60).max(TEN_YEARS).default(3600),
    accessTokenMaxTTL: z.number().int().min(0).max(TEN_YEARS).default(86400),
    accessTokenNumUsesLimit: z.number().int().min(0).max(1_000_000_000).default(0),
    clientSecretTrustedIps: z.array(Cidr).max(50).default([]),
    accessTokenTrustedIps: z.array(Cidr).max(50).default([]),
  })
  .strict()
  .refine((s) => s.accessTokenMaxTTL === 0 || s.accessTokenTTL <= s.accessTokenMaxTTL, {
    message: "accessTokenTTL cannot exceed accessTokenMaxTTL",
    path: ["accessTokenTTL"],
  });
export type UniversalAuthSettings = z.infer<typeof UniversalAuthSettings>;

export const CreateIdentityInput = z
  .object({
    organizationId: TrimmedUuid,
    name: z
      .string()
      .trim()
      .min(1, "Name is required")
      .max(64)
      .regex(/^[a-zA-Z0-9][a-zA-Z0-9 ._-]*$/, "Use letters, digits, spaces, dots, dashes and underscores"),
    role: OrgRole,
    /** The custom role's id when role is "custom". */
    roleId: TrimmedUuid.nullish(),
    universalAuth: UniversalAuthSettings.optional(),
  })
  .strict();
export type CreateIdentityInput = z.input<typeof CreateIdentityInput>;

export const IdentityRef = z.object({ organizationId: TrimmedUuid, identityId: TrimmedUuid }).strict();

export const CreateClientSecretInput = IdentityRef.extend({
  description: z.string().trim().max(200).default(""),
  /** Seconds the secret is valid (0: no expiry). */
  ttl: z.number().int().min(0).max(TEN_YEARS).default(0),
  /** Logins allowed (0: no limit). */
  numUsesLimit: z.number().int().min(0).max(1_000_000_000).default(0),
}).strict();
export type CreateClientSecretInput = z.input<typeof CreateClientSecretInput>;

export const ClientSecretDto = z
  .object({
    id: Uuid,
    description: z.string(),
    prefix: z.string(),
    ttl: z.number().int(),
    numUses: z.number().int(),
    numUsesLimit: z.number().int(),
    isRevoked: z.boolean(),
    expiresAt: IsoDateTime.nullable(),
    lastUsedAt: IsoDateTime.nullable(),
    createdAt: IsoDateTime,
  })
  .strict();
export type ClientSecretDto = z.infer<typeof ClientSecretDto>;

export const IdentityTokenDto = z
  .object({
    id: Uuid,
    clientSecretId: Uuid.nullable(),
    numUses: z.number().int(),
    numUsesLimit: z.number().int(),
    ip: z.string().nullable(),
    expiresAt: IsoDateTime,
    lastUsedAt: IsoDateTime.nullable(),
    lastRenewedAt: IsoDateTime.nullable(),
    createdAt: IsoDateTime,
  })
  .strict();
export type IdentityTokenDto = z.infer<typeof IdentityTokenDto>;

export const IdentityDto = z
  .object({
    id: Uuid,
    name: z.string(),
    role: OrgRole,
    roleId: Uuid.nullable(),
    membershipId: Uuid,
    clientId: z.string(),
    universalAuth: z
      .object({
        accessTokenTTL: z.number().int(),
        accessTokenMaxTTL: z.number().int(),
        accessTokenNumUsesLimit: z.number().int(),
        clientSecretTrustedIps: z.array(z.string()),
        accessTokenTrustedIps: z.array(z.string()),
      })
      .strict(),
    clientSecrets: z.array(ClientSecretDto),
    /** Live access tokens (not revoked, not expired). */
    accessTokens: z.array(IdentityTokenDto),
    createdAt: IsoDateTime,
  })
  .strict();
export type IdentityDto = z.infer<typeof IdentityDto>;

export const CreatedClientSecret = z
  .object({ clientSecret: z.string(), secret: ClientSecretDto, clientId: z.string() })
  .strict();
export type CreatedClientSecret = z.infer<typeof CreatedClientSecret>;
