// The demo data set of the spec (demo-data.md). Writes it from scratch: the application tables
// are emptied first, so running it twice gives the same data set.
import { randomUUID } from "node:crypto";
import { hash } from "@node-rs/argon2";
import type { MembershipStatus, OrgRole } from "@roster/contract";
import type { Db } from "./client";
import { toDbRole } from "./roles";
import { hashClientSecret, newClientSecret } from "./secrets";

export const DEMO_PASSWORD = "correct-horse-battery-staple";

/** What the seed wrote, without tokens (the api package mints those). */
export interface SeededMember {
  membershipId: string;
  userId: string | null;
  email: string;
  role: OrgRole;
  roleId: string | null;
  status: MembershipStatus;
  isActive: boolean;
  projectMembershipIds: string[];
}

export interface SeededIdentity {
  identityId: string;
  name: string;
  role: OrgRole;
  clientId: string;
  clientSecret: string;
}

export interface SeededOrganization {
  id: string;
  slug: string;
  name: string;
  projects: { id: string; slug: string }[];
  customRoles: { id: string; slug: string }[];
  members: SeededMember[];
  identities: SeededIdentity[];
}

interface MemberSpec {
  email: string;
  role: OrgRole;
  customRoleSlug?: string;
  status: MembershipStatus;
  isActive: boolean;
  projects: string[];
  favorites?: string[];
}

interface OrgSpec {
  slug: string;
  name: string;
  projects: string[];
  customRoles: { slug: string; name: string; permissions: { subject: string; actions: string[] }[] }[];
  members: MemberSpec[];
  identities: { name: string; role: OrgRole }[];
}

const pad = (n: number, width: number) => String(n).padStart(width, "0");

const FIRST = [
  "Ada",
  "Grace",
  "Alan",
  "Edsger",
  "Barbara",
  "Donald",
  "Margaret",
  "Ken",
  "Radia",
  "Dennis",
  "Frances",
  "John",
];
const LAST = [
  "Lovelace",
  "Hopper",
  "Turing",
  "Dijkstra",
  "Liskov",
  "Knuth",
  "Hamilton",
  "Thompson",
  "Perlman",
  "Ritchie",
  "Allen",
  "Backus",
];

const accepted = (email: string, role: OrgRole, extra: Partial<MemberSpec> = {}): MemberSpec => ({
  email,
  role,
  status: "accepted",
  isActive: true,
  projects: [],
  ...extra,
});

export function demoDataSpec(): OrgSpec[] {
  const acmeProjects = ["api", "web", "infra"];
  const acme: OrgSpec = {
    slug: "acme",
    name: "Acme Corp",
    projects: acmeProjects,
    customRoles: [
      {
        slug: "member-remover",
        name: "Member remover",
        permissions: [{ subject: "member", actions: ["read", "delete"] }],
      },
    ],
    members: [
      accepted("admin@acme.test", "admin"),
      accepted("admin2@acme.test", "admin"),
      accepted("member@acme.test", "member"),
      accepted("noaccess@acme.test", "no-access"),
      accepted("remover@acme.test", "custom", { customRoleSlug: "member-remover" }),
      ...Array.from({ length: 200 }, (_, i) =>
        accepted(`user${pad(i + 1, 3)}@acme.test`, "member", {
          // two of the three projects, rotating
          projects: [acmeProjects[i % 3] as string, acmeProjects[(i + 1) % 3] as string],
          ...(i % 7 === 0 ? { favorites: [acmeProjects[i % 3] as string] } : {}),
        }),
      ),
      ...Array.from({ length: 10 }, (_, i) => ({
        email: `invitee${pad(i + 1, 2)}@acme.test`,
        role: "member" as const,
        status: "invited" as const,
        isActive: true,
        projects: [],
      })),
      ...Array.from({ length: 5 }, (_, i) =>
        accepted(`inactive${pad(i + 1, 2)}@acme.test`, "member", { isActive: false }),
      ),
    ],
    identities: [{ name: "deprovisioner", role: "admin" }],
  };
  const globex: OrgSpec = {
    slug: "globex",
    name: "Globex",
    projects: ["core"],
    customRoles: [],
    members: [
      accepted("admin@globex.test", "admin"),
      ...Array.from({ length: 20 }, (_, i) =>
        accepted(`user${pad(i + 1, 3)}@globex.test`, "member", { projects: ["core"] }),
      ),
      accepted("member@acme.test", "member"),
    ],
    identities: [],
  };
  return [acme, globex];
}

/** A fixed reference time, so that two seeds write the same timestamps. */
const EPOCH = Date.UTC(2026, 10, 1, 9, 0, 0);
const hoursBefore = (h: number) => new Date(EPOCH - h * 3_600_000);

function nameFor(email: string, index: number): { firstName: string; lastName: string } {
  const local = email.split("@")[0] ?? email;
  if (/^user\d+$/.test(local)) {
    return {
      firstName: FIRST[index % FIRST.length] as string,
      lastName: LAST[(index * 5 + 3) % LAST.length] as string,
    };
  }
  // admin2 -> "Admin 2", noaccess -> "Noaccess"
  const [, word = local, number = ""] = /^([a-z]+)(\d*)$/.exec(local) ?? [];
  return { firstName: word.charAt(0).toUpperCase() + word.slice(1), lastName: number || "Demo" };
}

const APP_TABLES = [
  "audit_events",
  "identity_access_tokens",
  "identity_client_secrets",
  "identity_universal_auths",
  "identity_org_memberships",
  "identities",
  "project_membership_roles",
  "project_memberships",
  "projects",
  "org_member_counts",
  "org_memberships",
  "org_roles",
  "auth_sessions",
  "organizations",
  "users",
];

/** Empties the application tables and writes the demo data set. */
export async function seedDemoData(prisma: Db): Promise<SeededOrganization[]> {
  const spec = demoDataSpec();
  // One argon2id hash serves every demo user: they share the documented password, and hashing
  // 240 passwords one by one would make every seed (and every test that reseeds) seconds slower.
  const passwordHash = await hash(DEMO_PASSWORD, { algorithm: 2 });

  return prisma.$transaction(
    async (tx) => {
      await tx.$executeRawUnsafe(`TRUNCATE TABLE ${APP_TABLES.map((t) => `"${t}"`).join(", ")} CASCADE`);

      const emails = [
        ...new Set(spec.flatMap((o) => o.members.filter((m) => m.status === "accepted").map((m) => m.email))),
      ];
      const users = await tx.user.createManyAndReturn({
        data: emails.map((email, i) => ({ email, username: email, passwordHash, ...nameFor(email, i) })),
        select: { id: true, email: true },
      });
      const userIdByEmail = new Map(users.map((u) => [u.email, u.id]));

      const orgs = await tx.organization.createManyAndReturn({
        data: spec.map((o) => ({ slug: o.slug, name: o.name })),
        select: { id: true, slug: true, name: true },
      });
      const orgBySlug = new Map(orgs.map((o) => [o.slug, o]));
      const orgId = (slug: string) => (orgBySlug.get(slug) as { id: string }).id;

      const projects = await tx.project.createManyAndReturn({
        data: spec.flatMap((o) => o.projects.map((slug) => ({ orgId: orgId(o.slug), slug, name: slug.toUpperCase() }))),
        select: { id: true, slug: true, orgId: true },
      });
      const projectId = (org: string, slug: string) =>
        (projects.find((p) => p.orgId === orgId(org) && p.slug === slug) as { id: string }).id;

      const roles = await tx.orgRoleDefinition.createManyAndReturn({
        data: spec.flatMap((o) =>
          o.customRoles.map((r) => ({ orgId: orgId(o.slug), slug: r.slug, name: r.name, permissions: r.permissions })),
        ),
        select: { id: true, slug: true, orgId: true },
      });
      const roleId = (org: string, slug: string) =>
        (roles.find((r) => r.orgId === orgId(org) && r.slug === slug) as { id: string }).id;

      const memberRows = spec.flatMap((o) =>
        o.members.map((m, i) => {
          const invited = m.status === "invited";
          return {
            orgId: orgId(o.slug),
            userId: invited ? null : (userIdByEmail.get(m.email) as string),
            inviteEmail: invited ? m.email : null,
            role: toDbRole(m.role),
            roleId: m.customRoleSlug ? roleId(o.slug, m.customRoleSlug) : null,
            status: m.status,
            isActive: m.isActive,
            projectFavorites: m.favorites ?? [],
            lastInvitedAt: invited ? hoursBefore(24 * (i % 9) + 1) : null,
            lastLoginAuthMethod: invited ? null : "email",
            lastLoginTime: invited ? null : hoursBefore((i * 37) % 900),
            createdAt: hoursBefore(2000 - i),
            updatedAt: hoursBefore(1000 - i),
          };
        }),
      );
      const memberships = await tx.orgMembership.createManyAndReturn({
        data: memberRows,
        select: { id: true, orgId: true, userId: true, inviteEmail: true },
      });

      const pmRows = spec.flatMap((o) =>
        o.members.flatMap((m) =>
          m.projects.map((p) => ({ projectId: projectId(o.slug, p), userId: userIdByEmail.get(m.email) as string })),
        ),
      );
      const projectMemberships = await tx.projectMembership.createManyAndReturn({
        data: pmRows,
        select: { id: true, projectId: true, userId: true },
      });
      await tx.projectMembershipRole.createMany({
        data: projectMemberships.map((pm) => ({ projectMembershipId: pm.id, role: "member" })),
      });

      // Machine identities, each with Universal Auth and one client secret (listed in the manifest).
      const identities = new Map<string, SeededIdentity[]>();
      for (const o of spec) {
        const seeded: SeededIdentity[] = [];
        for (const ident of o.identities) {
          const clientId = randomUUID();
          const clientSecret = newClientSecret();
          const row = await tx.identity.create({
            data: {
              orgId: orgId(o.slug),
              name: ident.name,
              membership: { create: { orgId: orgId(o.slug), role: toDbRole(ident.role) } },
              universalAuth: { create: { clientId } },
              clientSecrets: {
                create: {
                  description: "demo",
                  secretPrefix: clientSecret.slice(0, 4),
                  secretHash: hashClientSecret(clientSecret),
                },
              },
            },
            select: { id: true },
          });
          seeded.push({ identityId: row.id, name: ident.name, role: ident.role, clientId, clientSecret });
        }
        identities.set(o.slug, seeded);
      }

      return spec.map((o) => {
        const oid = orgId(o.slug);
        const orgProjects = projects.filter((p) => p.orgId === oid);
        return {
          id: oid,
          slug: o.slug,
          name: o.name,
          projects: orgProjects.map((p) => ({ id: p.id, slug: p.slug })),
          customRoles: roles.filter((r) => r.orgId === oid).map((r) => ({ id: r.id, slug: r.slug })),
          members: o.members.map((m) => {
            const uid = m.status === "invited" ? null : (userIdByEmail.get(m.email) as string);
            const row = memberships.find(
              (r) => r.orgId === oid && (uid ? r.userId === uid : r.inviteEmail === m.email),
            ) as { id: string };
            return {
              membershipId: row.id,
              userId: uid,
              email: m.email,
              role: m.role,
              roleId: m.customRoleSlug ? roleId(o.slug, m.customRoleSlug) : null,
              status: m.status,
              isActive: m.isActive,
              projectMembershipIds: uid
                ? projectMemberships
                    .filter((pm) => pm.userId === uid && orgProjects.some((p) => p.id === pm.projectId))
                    .map((pm) => pm.id)
                : [],
            };
          }),
          identities: identities.get(o.slug) ?? [],
        };
      });
    },
    { timeout: 60_000, maxWait: 30_000 },
  );
}

const DEMO_SLUGS = () => demoDataSpec().map((o) => o.slug);
const DEMO_EMAILS = () => [...new Set(demoDataSpec().flatMap((o) => o.members.map((m) => m.email)))];

/**
 * True when no application table that the seed empties holds a row (users included): a database
 * with accounts but no organization yet is not empty, and start-up never seeds over it.
 */
export async function isEmpty(prisma: Db): Promise<boolean> {
  const [row] = await prisma.$queryRawUnsafe<{ found: boolean }[]>(
    `SELECT ${APP_TABLES.map((t) => `EXISTS (SELECT 1 FROM "${t}")`).join(" OR ")} AS found`,
  );
  return row?.found === false;
}

/** What the database holds, as far as reseeding it is concerned. */
export interface SeedTarget {
  state: "empty" | "demo" | "other";
  users: number;
  organizations: number;
}

/**
 * "demo" when every organization and every user is one the demo data set writes (so reseeding
 * loses nothing but demo changes), "other" for anything else, such as accounts made with
 * `admin:create` or users without any organization.
 */
export async function describeSeedTarget(prisma: Db): Promise<SeedTarget> {
  const [empty, users, organizations, foreignUsers, foreignOrgs] = await Promise.all([
    isEmpty(prisma),
    prisma.user.count(),
    prisma.organization.count(),
    prisma.user.count({ where: { email: { notIn: DEMO_EMAILS() } } }),
    prisma.organization.count({ where: { slug: { notIn: DEMO_SLUGS() } } }),
  ]);
  const state = empty ? "empty" : organizations > 0 && foreignUsers === 0 && foreignOrgs === 0 ? "demo" : "other";
  return { state, users, organizations };
}

/**
 * Why `db:seed` must not run here, or null when it may: it empties every application table, so
 * it refuses under NODE_ENV=production and on data that is not the demo data set, unless forced.
 */
export async function seedRefusal(prisma: Db, opts: { production: boolean; force: boolean }): Promise<string | null> {
  if (opts.force) return null;
  if (opts.production) {
    return "Refusing to seed under NODE_ENV=production: db:seed empties every application table and writes the demo accounts. Pass --force to do it anyway.";
  }
  const target = await describeSeedTarget(prisma);
  if (target.state !== "other") return null;
  return `Refusing to seed: the database holds data that is not the demo data set (${target.users} users, ${target.organizations} organizations), and db:seed would erase it. Pass --force to erase it anyway.`;
}
