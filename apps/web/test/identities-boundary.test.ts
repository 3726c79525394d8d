// The privilege boundary on every mutation of a machine identity: creating a client secret,
// revoking a secret, revoking a token, deleting. The caller's rules must cover the identity's role
// (built-in or custom), as for creating an identity and for the bulk delete (check 12); otherwise a
// custom role allowed to edit identities could mint a secret for an admin identity, log in with it
// over Universal Auth and act as an admin. Each mutation runs over tRPC on HTTP (/api/trpc) and
// through a server-side caller; what a refusal must leave working is checked over REST (Universal
// Auth login, renew, and the memberships list with the identity's token).
import { randomUUID } from "node:crypto";
import { claimsOf, MSG, REQ_ID, testDb } from "@roster/api/testing";
import type { OrgRole, PermissionRule } from "@roster/contract";
import { beforeAll, describe, expect, it } from "vitest";
import { ADMIN, type Fx, REMOVER, Seeded } from "./support/fixtures";
import { trpcPost } from "./support/http";
import {
  deprovisioner,
  listOverRest,
  login,
  type MadeIdentity,
  makeIdentity as makeIdentityOf,
  RENEW,
  send,
  tokenFor,
} from "./support/identities";
import { procedureOutcome, trpcCallerFor } from "./support/surfaces";

const boundary = MSG.identityBoundary;

const seeded = new Seeded();
let fx: Fx;

/** The demo custom role `member-remover` (held by remover@acme.test), given these rules. */
async function setRemoverRules(rules: PermissionRule[]): Promise<void> {
  const role = fx.acme.customRoles.find((r) => r.slug === "member-remover");
  if (!role) throw new Error("no member-remover role");
  await (await testDb()).orgRoleDefinition.update({ where: { id: role.id }, data: { permissions: rules } });
}

// REST over HTTP (Universal Auth and the memberships list)

const renew = (accessToken: string) => send("POST", RENEW, { json: { accessToken } });
const listMembers = async (accessToken: string): Promise<number> =>
  (await listOverRest(fx.acme.id, accessToken)).status;

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
    const res = await trpcPost(`identities.${mutation}`, input, authorization);
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(res.headers.get("x-request-id")).toMatch(REQ_ID);
    const body = res.body as {
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
    const { status, error, message, data } = await procedureOutcome(() => procedure(input));
    return status === 200
      ? { status, data: data as Record<string, unknown> }
      : { status, error, message: message as string };
  },
};

const SURFACES = [overHttp, viaCaller];

// ---------------------------------------------------------------------------------------------
// Identities made for a test: each has one client secret and one live access token.

/** An identity made for a test, with one client secret and one live access token. */
interface Made extends MadeIdentity {
  accessToken: string;
  tokenId: string;
}

async function makeIdentity(role: OrgRole, roleId: string | null = null): Promise<Made> {
  const made = await makeIdentityOf(fx, { role, roleId });
  const accessToken = await tokenFor(made);
  return { ...made, accessToken, tokenId: claimsOf(accessToken).identityAccessTokenId as string };
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

/** A refusal at the boundary: 403 naming the target, nothing of it changed, and it still works. */
async function expectRefused(before: Awaited<ReturnType<typeof identityRows>>, target: Made, answer: Answer) {
  expect(answer).toEqual({
    status: 403,
    error: "PermissionBoundaryError",
    message: boundary(target.name, target.identityId),
  });
  expect(await identityRows(target.identityId)).toEqual(before);
  await expectStillWorks(target);
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
      expect({ status: res.status, message: res.body.message }).toEqual({
        status: 401,
        message: MSG.invalidCredentials,
      });
      // The tokens it issued go with it.
      expect((await renew(target.accessToken)).body.message).toBe(MSG.noToken);
      return;
    }
    case "revokeAccessToken": {
      expect(answer.data).toEqual({ ok: true });
      const res = await renew(target.accessToken);
      expect({ status: res.status, message: res.body.message }).toEqual({ status: 401, message: MSG.noToken });
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
        const admin = deprovisioner(fx);
        if (admin.role !== "admin") throw new Error("no admin identity in the manifest");
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
      await expectRefused(before, target, await surface.call(fx.bearer(REMOVER), mutation, inputFor(mutation, target)));
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
      await expectRefused(before, target, await surface.call(fx.bearer(REMOVER), mutation, inputFor(mutation, target)));
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
      await expectRefused(
        before,
        target,
        await surface.call(`Bearer ${robot.accessToken}`, mutation, inputFor(mutation, target)),
      );
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
