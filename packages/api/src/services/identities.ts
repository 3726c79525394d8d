// Managing machine identities: create (with a role no stronger than the creator's), client
// secrets (shown once), revoke secrets and tokens, delete. Every one of them applies the privilege
// boundary to the identity it acts on (see privilegeBoundary), as the bulk delete does to members.
import { randomUUID } from "node:crypto";
import type {
  ClientSecretDto,
  CreatedClientSecret,
  IdentityDto,
  OrgRole,
  UniversalAuthSettings,
} from "@roster/contract";
import { type Db, fromDbRole, hashClientSecret, newClientSecret, toDbRole } from "@roster/db";
import type { Caller } from "../auth/caller";
import { BadRequestError, NotFoundError } from "../errors";
import { privilegeBoundary, rulesForRole } from "../permissions";
import { iso } from "./membership-dto";

const identitySelect = {
  id: true,
  name: true,
  createdAt: true,
  membership: { select: { id: true, role: true, roleId: true } },
  universalAuth: {
    select: {
      clientId: true,
      accessTokenTTL: true,
      accessTokenMaxTTL: true,
      accessTokenNumUsesLimit: true,
      clientSecretTrustedIps: true,
      accessTokenTrustedIps: true,
    },
  },
  clientSecrets: { orderBy: { createdAt: "desc" as const } },
  accessTokens: { where: { isRevoked: false }, orderBy: { createdAt: "desc" as const } },
} as const;

type SecretRow = {
  id: string;
  description: string;
  secretPrefix: string;
  ttl: number;
  numUses: number;
  numUsesLimit: number;
  isRevoked: boolean;
  lastUsedAt: Date | null;
  createdAt: Date;
};

function toSecretDto(s: SecretRow): ClientSecretDto {
  return {
    id: s.id,
    description: s.description,
    prefix: s.secretPrefix,
    ttl: s.ttl,
    numUses: s.numUses,
    numUsesLimit: s.numUsesLimit,
    isRevoked: s.isRevoked,
    expiresAt: s.ttl > 0 ? new Date(s.createdAt.getTime() + s.ttl * 1000).toISOString() : null,
    lastUsedAt: iso(s.lastUsedAt),
    createdAt: s.createdAt.toISOString(),
  };
}

export async function listIdentities(prisma: Db, orgId: string): Promise<IdentityDto[]> {
  const rows = await prisma.identity.findMany({ where: { orgId }, orderBy: { name: "asc" }, select: identitySelect });
  const now = Date.now();
  return rows.flatMap((r) => {
    if (!r.membership || !r.universalAuth) return [];
    const { clientId, ...settings } = r.universalAuth;
    return [
      {
        id: r.id,
        name: r.name,
        role: fromDbRole(r.membership.role),
        roleId: r.membership.roleId,
        membershipId: r.membership.id,
        clientId,
        universalAuth: settings,
        clientSecrets: r.clientSecrets.map(toSecretDto),
        accessTokens: r.accessTokens.flatMap((t) => {
          const expiresAt = (t.lastRenewedAt ?? t.createdAt).getTime() + t.ttl * 1000;
          if (expiresAt <= now || (t.numUsesLimit > 0 && t.numUses >= t.numUsesLimit)) return [];
          return [
            {
              id: t.id,
              clientSecretId: t.clientSecretId,
              numUses: t.numUses,
              numUsesLimit: t.numUsesLimit,
              ip: t.ip,
              expiresAt: new Date(expiresAt).toISOString(),
              lastUsedAt: iso(t.lastUsedAt),
              lastRenewedAt: iso(t.lastRenewedAt),
              createdAt: t.createdAt.toISOString(),
            },
          ];
        }),
        createdAt: r.createdAt.toISOString(),
      },
    ];
  });
}

/** The role's rules, refusing a role the caller's own rules do not cover (no escalation). */
async function checkRole(prisma: Db, caller: Caller, role: OrgRole, roleId: string | null): Promise<string | null> {
  let custom: unknown;
  if (role === "custom") {
    if (!roleId) throw new BadRequestError("A custom role needs its roleId");
    const found = await prisma.orgRoleDefinition.findFirst({
      where: { id: roleId, orgId: caller.organizationId },
      select: { permissions: true },
    });
    if (!found) throw new NotFoundError(`Role ${roleId} not found in organization ${caller.organizationId}`);
    custom = found.permissions;
  }
  const beyond = privilegeBoundary(caller.rules, rulesForRole(role, custom), { kind: "role" });
  if (beyond) throw beyond;
  return role === "custom" ? roleId : null;
}

export async function createIdentity(
  prisma: Db,
  caller: Caller,
  input: { name: string; role: OrgRole; roleId?: string | null; universalAuth?: UniversalAuthSettings },
): Promise<IdentityDto> {
  const roleId = await checkRole(prisma, caller, input.role, input.roleId ?? null);
  const orgId = caller.organizationId;
  const exists = await prisma.identity.findUnique({
    where: { orgId_name: { orgId, name: input.name } },
    select: { id: true },
  });
  if (exists) throw new BadRequestError(`An identity named ${input.name} already exists`);
  const settings = input.universalAuth;
  const identity = await prisma.identity.create({
    data: {
      orgId,
      name: input.name,
      membership: { create: { orgId, role: toDbRole(input.role), roleId } },
      universalAuth: {
        create: {
          clientId: randomUUID(),
          ...(settings
            ? {
                accessTokenTTL: settings.accessTokenTTL,
                accessTokenMaxTTL: settings.accessTokenMaxTTL,
                accessTokenNumUsesLimit: settings.accessTokenNumUsesLimit,
                clientSecretTrustedIps: settings.clientSecretTrustedIps,
                accessTokenTrustedIps: settings.accessTokenTrustedIps,
              }
            : {}),
        },
      },
    },
    select: { id: true },
  });
  return (await listIdentities(prisma, orgId)).find((i) => i.id === identity.id) as IdentityDto;
}

/**
 * An operator at the server's console (`npm run identity:secret`): holds the database's own
 * credentials, so no caller's rules apply. Only the command-line tools act as one.
 */
export interface ConsoleOperator {
  kind: "console";
  organizationId: string;
}

/**
 * The identity the caller means to change, found in the caller's organization (404 otherwise),
 * then the privilege boundary: the caller's rules must cover the identity's role, built-in or
 * custom (403 otherwise). Every identity mutation starts here, so none can reach powers the
 * caller lacks; a future edit of an identity's role must also check the role it would be given.
 */
async function identityWithinBoundary(prisma: Db, caller: Caller | ConsoleOperator, identityId: string) {
  const orgId = caller.organizationId;
  const identity = await prisma.identity.findFirst({
    where: { id: identityId, orgId },
    select: {
      id: true,
      name: true,
      universalAuth: { select: { clientId: true } },
      membership: { select: { role: true, customRole: { select: { permissions: true } } } },
    },
  });
  if (!identity?.universalAuth) throw new NotFoundError(`Identity ${identityId} not found in organization ${orgId}`);
  if (caller.kind === "console") return { id: identity.id, clientId: identity.universalAuth.clientId };
  // An identity without a membership holds nothing, which any caller covers.
  const targetRules = identity.membership
    ? rulesForRole(fromDbRole(identity.membership.role), identity.membership.customRole?.permissions)
    : [];
  const beyond = privilegeBoundary(caller.rules, targetRules, {
    kind: "identity",
    identityId: identity.id,
    name: identity.name,
  });
  if (beyond) throw beyond;
  return { id: identity.id, clientId: identity.universalAuth.clientId };
}

/** A new client secret: the plain secret is returned here once and never stored. */
export async function createClientSecret(
  prisma: Db,
  caller: Caller | ConsoleOperator,
  input: { identityId: string; description: string; ttl: number; numUsesLimit: number },
): Promise<CreatedClientSecret> {
  const identity = await identityWithinBoundary(prisma, caller, input.identityId);
  const clientSecret = newClientSecret();
  const row = await prisma.identityClientSecret.create({
    data: {
      identityId: identity.id,
      description: input.description,
      secretPrefix: clientSecret.slice(0, 4),
      secretHash: hashClientSecret(clientSecret),
      ttl: input.ttl,
      numUsesLimit: input.numUsesLimit,
    },
  });
  return { clientSecret, clientId: identity.clientId, secret: toSecretDto(row) };
}

/** Revokes a client secret and every access token it issued. */
export async function revokeClientSecret(prisma: Db, caller: Caller, identityId: string, clientSecretId: string) {
  const identity = await identityWithinBoundary(prisma, caller, identityId);
  const [revoked] = await prisma.$transaction([
    prisma.identityClientSecret.updateMany({
      where: { id: clientSecretId, identityId: identity.id },
      data: { isRevoked: true },
    }),
    prisma.identityAccessToken.updateMany({
      where: { clientSecretId, identityId: identity.id },
      data: { isRevoked: true },
    }),
  ]);
  if (revoked.count !== 1) throw new NotFoundError(`Client secret ${clientSecretId} not found`);
}

export async function revokeIdentityToken(prisma: Db, caller: Caller, identityId: string, tokenId: string) {
  const identity = await identityWithinBoundary(prisma, caller, identityId);
  const revoked = await prisma.identityAccessToken.updateMany({
    where: { id: tokenId, identityId: identity.id },
    data: { isRevoked: true },
  });
  if (revoked.count !== 1) throw new NotFoundError(`Access token ${tokenId} not found`);
}

/** Deletes the identity with its membership, secrets and tokens (its audit events stay). */
export async function deleteIdentity(prisma: Db, caller: Caller, identityId: string) {
  const identity = await identityWithinBoundary(prisma, caller, identityId);
  await prisma.identity.delete({ where: { id: identity.id } });
}
