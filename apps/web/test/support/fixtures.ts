// The demo data as tests use it: lookups by email into the manifest a reseed returns, a seed shared
// by the tests that change nothing, the demo's people, and small changes to the data that several
// tests make (a role with every right, a session of one's own, identities made for a test).
import { issueAccessToken } from "@roster/api/auth";
import { memberOf, orgOf, reseed } from "@roster/api/testing";
import {
  type DemoManifest,
  type ManifestOrganization,
  PERMISSION_ACTIONS,
  PERMISSION_SUBJECTS,
} from "@roster/contract";
import type { Db } from "@roster/db";
import { serverSecret } from "./tokens";

export const ADMIN = "admin@acme.test";
export const ADMIN2 = "admin2@acme.test";
export const MEMBER = "member@acme.test";
export const NOACCESS = "noaccess@acme.test";
export const REMOVER = "remover@acme.test";

type OrgSlug = "acme" | "globex";

export interface Fx {
  manifest: DemoManifest;
  acme: ManifestOrganization;
  globex: ManifestOrganization;
  /** The membership id of `email` in the organization (acme by default). */
  id(email: string, org?: OrgSlug): string;
  userId(email: string, org?: OrgSlug): string;
  /** The access token of `email` for the organization. */
  token(email: string, org?: OrgSlug): string;
  /** `Bearer <token>` of `email` for the organization. */
  bearer(email: string, org?: OrgSlug): string;
  /** Values a row's setup made for its request. */
  vars: Record<string, string[]>;
}

export function fixtures(manifest: DemoManifest): Fx {
  const token = (email: string, org: OrgSlug = "acme") => {
    const found = memberOf(manifest, org, email).accessToken;
    if (!found) throw new Error(`${email} in ${org} has no token`);
    return found;
  };
  return {
    manifest,
    acme: orgOf(manifest, "acme"),
    globex: orgOf(manifest, "globex"),
    id: (email, org = "acme") => memberOf(manifest, org, email).membershipId,
    userId: (email, org = "acme") => {
      const id = memberOf(manifest, org, email).userId;
      if (!id) throw new Error(`${email} has no user`);
      return id;
    },
    token,
    bearer: (email, org = "acme") => `Bearer ${token(email, org)}`,
    vars: {},
  };
}

/**
 * The demo data, reseeded only when something changed it since the last call: tests that
 * change nothing (and assert so) can share one seed.
 */
export class Seeded {
  private fx: Fx | null = null;
  /** The next `get` reseeds. */
  dirty(): void {
    this.fx = null;
  }
  async get(): Promise<Fx> {
    if (!this.fx) this.fx = fixtures(await reseed());
    this.fx.vars = {};
    return this.fx;
  }
}

/** acme's plain members user<from>@acme.test to user<to>@acme.test. */
export const users = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => `user${String(from + i).padStart(3, "0")}@acme.test`);

/** Membership ids no organization has. */
export const UNKNOWN = [
  "0b9f6c1e-5d2a-4c8e-9f3b-7a1d2e4c6b80",
  "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f",
  "2d3e4f5a-6b7c-4d8e-9fa0-1b2c3d4e5f60",
];
export const manyUnknown = (n: number) =>
  Array.from({ length: n }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`);

/** A custom role with every action on every subject (it covers an admin's rules), given to `emails`. */
export async function grantEverything(fx: Fx, db: Db, ...emails: string[]) {
  const role = await db.orgRoleDefinition.create({
    data: {
      orgId: fx.acme.id,
      slug: "everything",
      name: "Everything",
      permissions: PERMISSION_SUBJECTS.map((subject) => ({ subject, actions: [...PERMISSION_ACTIONS] })),
    },
    select: { id: true },
  });
  await db.orgMembership.updateMany({
    where: { id: { in: emails.map((e) => fx.id(e)) } },
    data: { role: "custom", roleId: role.id },
  });
}

/** A fresh session for `email` in acme, changed by `change`, and its token. */
export async function sessionToken(fx: Fx, db: Db, email: string, change: (sessionId: string) => Promise<unknown>) {
  const issued = await issueAccessToken(db, serverSecret(), { userId: fx.userId(email), organizationId: fx.acme.id });
  await change(issued.sessionId);
  return `Bearer ${issued.token}`;
}
