// The privilege boundary on every mutation of a machine identity: creating a client secret,
// revoking a secret, revoking a token, deleting. The caller's rules must cover the identity's role
// (built-in or custom), as for creating an identity and for the bulk delete (check 12); otherwise a
// custom role allowed to edit identities could mint a secret for an admin identity, log in with it
// over Universal Auth and act as an admin. Each mutation runs over tRPC on HTTP (/api/trpc) and
// through a server-side caller; what a refusal must leave working is checked over REST (Universal
// Auth login, renew, and the memberships list with the identity's token).
import { randomUUID } from "node:crypto";
import { baseUrl, claimsOf, REQ_ID, testDb } from "@roster/api/testing";
import type { OrgRole, PermissionRule } from "@roster/contract";
import { beforeAll, describe, expect, it } from "vitest";
import { ADMIN, type Fx, REMOVER, Seeded } from "./support/fixtures";
import { membershipsPath } from "./support/http";
import { trpcCallerFor } from "./support/surfaces";

// The texts, written out here rather than imported from the implementation.
const boundary = (name: string, id: string) =>
  `Failed to act on identity ${name} (${id}): your privileges do not cover theirs`;
const INVALID_CREDENTIALS = "Invalid credentials";
const NO_TOKEN = "No identity access token found";

const LOGIN = "/api/v1/auth/universal-auth/login";
const RENEW = "/api/v1/auth/token/renew";

const seeded = new Seeded();
let fx: Fx;

/** The demo custom role `member-remover` (held by remover@acme.test), given these rules. */
async function setRemoverRules(rules: PermissionRule[]): Promise<void> {
  const role = fx.acme.customRoles.find((r) => r.slug === "member-remover");
  if (!role) throw new Error("no member-remover role");
  await (await testDb()).orgRoleDefinition.update({ where: { id: role.id }, data: { permissions: rules } });
}

// ---------------------------------------------------------------------------------------------
// REST over HTTP (Universal Auth and the memberships list)

interface Res {
  status: number;
  body: Record<string, unknown>;
}

async function post(path: string, json: unknown): Promise<Res> {
  const res = await fetch(`${baseUrl()}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(json),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const login = (clientId: string, clientSecret: string) => post(LOGIN, { clientId, clientSecret });
const renew = (accessToken: string) => post(RENEW, { accessToken });

async function listMembers(accessToken: string): Promise<number> {
  const res = await fetch(`${baseUrl()}${membershipsPath(fx.acme.id)}`, {
    headers: { authorization: `Bearer ${accessToken}` },
  });
  await res.body?.cancel();
  return res.status;
}

// ---------------------------------------------------------------------------------------------
// The identity mutations on both tRPC surfaces

const MUTATIONS = ["createClientSecret", "revokeClientSecret", "revokeAccessToken", "delete"] as const;
type Mutation = (typeof MUTATIONS)[number];

interface Answer {
  status: number;
  error?: string;
  message?: string;
  data?: Record<string, unknown>;
}

interface TrpcSurface {
  name: "http" | "caller";
  call(authorization: string, mutation: Mutation, input: Record<string, unknown>): Promise<Answer>;
}

const overHttp: TrpcSurface = {
  name: "http",
  async call(authorization, mutation, input) {
    const res = await fetch(`${baseUrl()}/api/trpc/identities.${mutation}`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization },
      body: JSON.stringify(input),
    });
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(res.headers.get("x-request-id")).toMatch(REQ_ID);
    const body = (await res.json()) as {
      result?: { data: Record<string, unknown> };
      error?: { message: string; data: { httpStatus: number; error: string; reqId: string } };
    };
    if (body.error) {
      // The contract's envelope inside tRPC's: status, name, message and the request id.
      expect(body.error.data.httpStatus).toBe(res.status);
      expect(body.error.data.reqId).toBe(res.headers.get("x-request-id"));
      return { status: res.status, error: body.error.data.error, message: body.error.message };
    }
    return { status: res.status, data: body.result?.data };
  },
};

const viaCaller: TrpcSurface = {
  name: "caller",
  async call(authorization, mutation, input) {
    const caller = await trpcCallerFor(authorization);
    const procedure = caller.identities[mutation] as (input: unknown) => Promise<unknown>;
    try {
      return { status: 200, data: JSON.parse(JSON.stringify(await procedure(input))) };
    } catch (err) {
      const e = err as { name?: string; message: string; cause?: { status?: number; errorName?: string } };
      if (e.name !== "TRPCError" || typeof e.cause?.status !== "number") throw err;
      return { status: e.cause.status, error: e.cause.errorName, message: e.message };
    }
  },
};

const SURFACES = [overHttp, viaCaller];

// ---------------------------------------------------------------------------------------------
// Identities made for a test: each has one client secret and one live access token.

interface Made {
  identityId: string;
  name: string;
  clientId: string;
  clientSecret: string;
  clientSecretId: string;
  accessToken: string;
  tokenId: string;
}

async function makeIdentity(role: OrgRole, roleId: string | null = null): Promise<Made> {
  const admin = await trpcCallerFor(fx.bearer(ADMIN));
  const name = `robot-${randomUUID().slice(0, 8)}`;
  const identity = await admin.identities.create({ organizationId: fx.acme.id, name, role, roleId });
  const secret = await admin.identities.createClientSecret({ organizationId: fx.acme.id, identityId: identity.id });
  const res = await login(identity.clientId, secret.clientSecret);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  const accessToken = res.body.accessToken as string;
  return {
    identityId: identity.id,
    name,
    clientId: identity.clientId,
    clientSecret: secret.clientSecret,
    clientSecretId: secret.secret.id,
    accessToken,
    tokenId: claimsOf(accessToken).identityAccessTokenId as string,
  };
}

function inputFor(mutation: Mutation, target: Made): Record<string, unknown> {
  const ref = { organizationId: fx.acme.id, identityId: target.identityId };
  switch (mutation) {
    case "createClientSecret":
      return { ...ref, description: "escalation" };
    case "revokeClientSecret":
      return { ...ref, clientSecretId: target.clientSecretId };
    case "revokeAccessToken":
      return { ...ref, tokenId: target.tokenId };
    case "delete":
      return ref;
  }
}

/** Everything of the identity's that a mutation could change. */
async function identityRows(identityId: string) {
  const db = await testDb();
  return {
    identity: await db.identity.findUnique({ where: { id: identityId }, include: { membership: true } }),
    secrets: await db.identityClientSecret.findMany({
      where: { identityId },
      select: { id: true, isRevoked: true, secretHash: true },
      orderBy: { id: "asc" },
    }),
    tokens: await db.identityAccessToken.findMany({
      where: { identityId },
      select: { id: true, isRevoked: true },
      orderBy: { id: "asc" },
    }),
  };
}

/** A target whose powers the caller lacks still logs in, renews and acts, over REST. */
async function expectStillWorks(target: Made) {
  expect((await login(target.clientId, target.clientSecret)).status).toBe(200);
  expect((await renew(target.accessToken)).status).toBe(200);
  expect(await listMembers(target.accessToken)).toBe(200);
}

/** What each allowed mutation must have done, seen from Universal Auth over REST. */
async function expectDone(mutation: Mutation, target: Made, answer: Answer) {
  expect(answer.status, JSON.stringify(answer)).toBe(200);
  switch (mutation) {
    case "createClientSecret": {
      const made = answer.data as { clientSecret: string; clientId: string };
      expect(made.clientId).toBe(target.clientId);
      const res = await login(target.clientId, made.clientSecret);
      expect(res.status).toBe(200);
      expect(await listMembers(res.body.accessToken as string)).toBe(200);
      return;
    }
    case "revokeClientSecret": {
      expect(answer.data).toEqual({ ok: true });
      const res = await login(target.clientId, target.clientSecret);
      expect({ status: res.status, message: res.body.message }).toEqual({ status: 401, message: INVALID_CREDENTIALS });
      // The tokens it issued go with it.
      expect((await renew(target.accessToken)).body.message).toBe(NO_TOKEN);
      return;
    }
    case "revokeAccessToken": {
      expect(answer.data).toEqual({ ok: true });
      const res = await renew(target.accessToken);
      expect({ status: res.status, message: res.body.message }).toEqual({ status: 401, message: NO_TOKEN });
      expect(await listMembers(target.accessToken)).toBe(401);
      // The secret itself still logs in.
      expect((await login(target.clientId, target.clientSecret)).status).toBe(200);
      return;
    }
    case "delete": {
      expect(answer.data).toEqual({ ok: true });
      expect((await identityRows(target.identityId)).identity).toBeNull();
      expect((await login(target.clientId, target.clientSecret)).status).toBe(401);
      expect(await listMembers(target.accessToken)).toBe(401);
      return;
    }
  }
}

/** identity: read, edit, delete and member: read — it covers a `member` identity, not an `admin` one. */
const IDENTITY_KEEPER: PermissionRule[] = [
  { subject: "identity", actions: ["read", "edit", "delete"] },
  { subject: "member", actions: ["read"] },
];

beforeAll(async () => {
  fx = await seeded.get();
  await setRemoverRules(IDENTITY_KEEPER);
});

describe("the escalation: identity edit rights do not reach an admin identity", () => {
  it.each(SURFACES)(
    "a custom role with only identity: read, edit cannot mint a secret for the admin identity ($name)",
    async (surface) => {
      await setRemoverRules([{ subject: "identity", actions: ["read", "edit"] }]);
      try {
        const admin = fx.manifest.organizations
          .find((o) => o.slug === "acme")
          ?.identities.find((i) => i.name === "deprovisioner");
        if (admin?.role !== "admin") throw new Error("no admin identity in the manifest");
        const before = await identityRows(admin.identityId);
        const answer = await surface.call(fx.bearer(REMOVER), "createClientSecret", {
          organizationId: fx.acme.id,
          identityId: admin.identityId,
        });
        expect(answer).toEqual({
          status: 403,
          error: "PermissionBoundaryError",
          message: boundary("deprovisioner", admin.identityId),
        });
        // No secret was made: there is nothing to log in with as the admin identity.
        expect(await identityRows(admin.identityId)).toEqual(before);
      } finally {
        await setRemoverRules(IDENTITY_KEEPER);
      }
    },
  );
});

describe.each(SURFACES)("identity mutations over tRPC ($name)", (surface) => {
  describe.each(MUTATIONS)("%s", (mutation) => {
    it("refuses a custom role acting on an admin identity: 403 PermissionBoundaryError naming it, nothing changed", async () => {
      const target = await makeIdentity("admin");
      const before = await identityRows(target.identityId);
      const answer = await surface.call(fx.bearer(REMOVER), mutation, inputFor(mutation, target));
      expect(answer).toEqual({
        status: 403,
        error: "PermissionBoundaryError",
        message: boundary(target.name, target.identityId),
      });
      expect(await identityRows(target.identityId)).toEqual(before);
      await expectStillWorks(target);
    });

    it("refuses a custom role acting on an identity whose custom role holds rules it lacks", async () => {
      const db = await testDb();
      const auditor = await db.orgRoleDefinition.create({
        data: {
          orgId: fx.acme.id,
          slug: `auditor-${randomUUID().slice(0, 8)}`,
          name: "Auditor",
          permissions: [
            { subject: "member", actions: ["read"] },
            { subject: "audit", actions: ["read"] },
          ],
        },
      });
      const target = await makeIdentity("custom", auditor.id);
      const before = await identityRows(target.identityId);
      const answer = await surface.call(fx.bearer(REMOVER), mutation, inputFor(mutation, target));
      expect(answer).toEqual({
        status: 403,
        error: "PermissionBoundaryError",
        message: boundary(target.name, target.identityId),
      });
      expect(await identityRows(target.identityId)).toEqual(before);
      await expectStillWorks(target);
    });

    it("refuses an identity whose custom role may edit identities acting on an admin identity", async () => {
      const db = await testDb();
      const keeper = await db.orgRoleDefinition.create({
        data: {
          orgId: fx.acme.id,
          slug: `keeper-${randomUUID().slice(0, 8)}`,
          name: "Identity keeper",
          permissions: IDENTITY_KEEPER,
        },
      });
      const robot = await makeIdentity("custom", keeper.id);
      const target = await makeIdentity("admin");
      const before = await identityRows(target.identityId);
      const answer = await surface.call(`Bearer ${robot.accessToken}`, mutation, inputFor(mutation, target));
      expect(answer).toEqual({
        status: 403,
        error: "PermissionBoundaryError",
        message: boundary(target.name, target.identityId),
      });
      expect(await identityRows(target.identityId)).toEqual(before);
      await expectStillWorks(target);
    });

    it("lets a custom role act on an identity its rules cover", async () => {
      const target = await makeIdentity("member");
      await expectDone(mutation, target, await surface.call(fx.bearer(REMOVER), mutation, inputFor(mutation, target)));
    });

    it("lets an admin act on an admin identity", async () => {
      const target = await makeIdentity("admin");
      await expectDone(mutation, target, await surface.call(fx.bearer(ADMIN), mutation, inputFor(mutation, target)));
    });
  });
});
