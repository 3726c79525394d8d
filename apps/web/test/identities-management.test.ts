// Identity management over tRPC: creating identities with their Universal Auth settings, client
// secrets shown once, revoking secrets and tokens, deleting identities, and the roles a caller may
// give an identity.
import { createHash } from "node:crypto";
import { claimsOf, MSG, reseed, testDb } from "@roster/api/testing";
import { beforeEach, describe, expect, it } from "vitest";
import { ADMIN, type Fx, fixtures, MEMBER, REMOVER } from "./support/fixtures";
import {
  deprovisioner,
  expectEnvelope,
  listOverRest,
  login,
  makeIdentity,
  tokenFor,
  trpcAs,
} from "./support/identities";
import { procedureOutcome } from "./support/surfaces";

let fx: Fx;

describe("identity management over tRPC", () => {
  // These tests remove members, change roles or manage identities: fresh demo data for each.
  beforeEach(async () => {
    fx = fixtures(await reseed());
  });

  it("creates an identity with its Universal Auth settings, which logins then follow", async () => {
    const db = await testDb();
    const admin = await trpcAs(fx.token(ADMIN));
    const settings = {
      accessTokenTTL: 600,
      accessTokenMaxTTL: 1200,
      accessTokenNumUsesLimit: 10,
      clientSecretTrustedIps: ["127.0.0.0/8", "::1"],
      accessTokenTrustedIps: ["127.0.0.0/8"],
    };
    const created = await admin.identities.create({
      organizationId: fx.acme.id,
      name: "ci-runner",
      role: "member",
      universalAuth: settings,
    });
    expect(created).toMatchObject({
      name: "ci-runner",
      role: "member",
      roleId: null,
      universalAuth: settings,
      clientSecrets: [],
      accessTokens: [],
    });
    expect(created.clientId).toMatch(/^[0-9a-f-]{36}$/);
    const membership = await db.identityOrgMembership.findUniqueOrThrow({ where: { identityId: created.id } });
    expect(membership).toMatchObject({ id: created.membershipId, orgId: fx.acme.id, role: "member" });
    // Not a user membership.
    expect(await db.orgMembership.count({ where: { id: created.membershipId } })).toBe(0);

    const { clientSecret } = await admin.identities.createClientSecret({
      organizationId: fx.acme.id,
      identityId: created.id,
    });
    const res = await login(created.clientId, clientSecret);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body).toMatchObject({ expiresIn: 600, accessTokenMaxTTL: 1200 });
    const claims = claimsOf(res.body.accessToken as string);
    expect((claims.exp as number) - (claims.iat as number)).toBe(600);
    const row = await db.identityAccessToken.findUniqueOrThrow({
      where: { id: claims.identityAccessTokenId as string },
    });
    expect(row).toMatchObject({ ttl: 600, maxTTL: 1200, numUsesLimit: 10 });

    // A duplicate name is refused.
    expect(
      await procedureOutcome(() =>
        admin.identities.create({ organizationId: fx.acme.id, name: "ci-runner", role: "member" }),
      ),
    ).toMatchObject({ status: 400, error: "BadRequest" });
  });

  it("shows a client secret once: only its hash and prefix are stored, and lists never carry it", async () => {
    const db = await testDb();
    const admin = await trpcAs(fx.token(ADMIN));
    const ident = deprovisioner(fx);
    const created = await admin.identities.createClientSecret({
      organizationId: fx.acme.id,
      identityId: ident.identityId,
      description: "nightly job",
      ttl: 3600,
      numUsesLimit: 5,
    });
    expect(created.clientSecret).toMatch(/^[0-9a-f]{64}$/);
    expect(created.clientId).toBe(ident.clientId);
    expect(created.secret).toMatchObject({
      description: "nightly job",
      prefix: created.clientSecret.slice(0, 4),
      ttl: 3600,
      numUses: 0,
      numUsesLimit: 5,
      isRevoked: false,
    });
    expect(JSON.stringify(created.secret)).not.toContain(created.clientSecret);

    const row = await db.identityClientSecret.findUniqueOrThrow({ where: { id: created.secret.id } });
    expect(row.secretPrefix).toBe(created.clientSecret.slice(0, 4));
    expect(row.secretHash).toBe(createHash("sha256").update(created.clientSecret).digest("hex"));
    expect(JSON.stringify(row)).not.toContain(created.clientSecret);

    const { identities } = await admin.identities.list({ organizationId: fx.acme.id });
    const listed = identities.find((i) => i.id === ident.identityId);
    expect(listed?.clientSecrets.map((s) => s.id).sort()).toEqual(
      [
        created.secret.id,
        (await db.identityClientSecret.findFirstOrThrow({ where: { description: "demo" } })).id,
      ].sort(),
    );
    expect(listed?.clientSecrets.find((s) => s.id === created.secret.id)).toEqual(created.secret);
    const text = JSON.stringify(identities);
    expect(text).not.toContain(created.clientSecret);
    expect(text).not.toContain(ident.clientSecret);
    expect(text).not.toContain(row.secretHash);

    // The new secret logs in.
    expect((await login(ident.clientId, created.clientSecret)).status).toBe(200);
  });

  it("revoking a client secret revokes the tokens it issued, and no others", async () => {
    const admin = await trpcAs(fx.token(ADMIN));
    const made = await makeIdentity(fx, { role: "member" });
    const second = await admin.identities.createClientSecret({
      organizationId: fx.acme.id,
      identityId: made.identityId,
    });
    const fromFirst = await tokenFor(made);
    const fromSecond = await tokenFor({ clientId: made.clientId, clientSecret: second.clientSecret });

    await admin.identities.revokeClientSecret({
      organizationId: fx.acme.id,
      identityId: made.identityId,
      clientSecretId: made.clientSecretId,
    });
    expectEnvelope(await listOverRest(fx.acme.id, fromFirst), 401, "StaleSession", MSG.stale);
    expectEnvelope(await login(made.clientId, made.clientSecret), 401, "UnauthorizedError", MSG.invalidCredentials);
    expect((await listOverRest(fx.acme.id, fromSecond)).status).toBe(200);

    const { identities } = await admin.identities.list({ organizationId: fx.acme.id });
    const listed = identities.find((i) => i.id === made.identityId);
    expect(listed?.clientSecrets.find((s) => s.id === made.clientSecretId)?.isRevoked).toBe(true);
    expect(listed?.accessTokens.map((t) => t.id)).toEqual([claimsOf(fromSecond).identityAccessTokenId]);
  });

  it("revokes one access token", async () => {
    const admin = await trpcAs(fx.token(ADMIN));
    const made = await makeIdentity(fx, { role: "member" });
    const [a, b] = [await tokenFor(made), await tokenFor(made)] as [string, string];
    await admin.identities.revokeAccessToken({
      organizationId: fx.acme.id,
      identityId: made.identityId,
      tokenId: claimsOf(a).identityAccessTokenId as string,
    });
    expectEnvelope(await listOverRest(fx.acme.id, a), 401, "StaleSession", MSG.stale);
    expect((await listOverRest(fx.acme.id, b)).status).toBe(200);
  });

  it("deleting an identity ends its tokens and its credentials", async () => {
    const db = await testDb();
    const admin = await trpcAs(fx.token(ADMIN));
    const made = await makeIdentity(fx, { role: "admin" });
    const token = await tokenFor(made);
    expect((await listOverRest(fx.acme.id, token)).status).toBe(200);

    expect(await admin.identities.delete({ organizationId: fx.acme.id, identityId: made.identityId })).toEqual({
      ok: true,
    });
    expectEnvelope(await listOverRest(fx.acme.id, token), 401, "StaleSession", MSG.stale);
    expect(
      await procedureOutcome(async () =>
        (await trpcAs(token)).organizations.listMemberships({ organizationId: fx.acme.id }),
      ),
    ).toMatchObject({ status: 401, error: "StaleSession" });
    expectEnvelope(await login(made.clientId, made.clientSecret), 401, "UnauthorizedError", MSG.invalidCredentials);
    expect(await db.identity.count({ where: { id: made.identityId } })).toBe(0);
    expect(await db.identityAccessToken.count({ where: { identityId: made.identityId } })).toBe(0);
    const { identities } = await admin.identities.list({ organizationId: fx.acme.id });
    expect(identities.map((i) => i.name)).toEqual(["deprovisioner"]);
  });

  it("will not let a caller create an identity with a role beyond their own", async () => {
    const db = await testDb();
    const remover = await trpcAs(fx.token(REMOVER));
    const create = (name: string, role: "admin" | "member") =>
      procedureOutcome(() => remover.identities.create({ organizationId: fx.acme.id, name, role }));

    // The remover's custom role (member: read, delete) has no right to create identities at all.
    expect(await create("escalated", "admin")).toMatchObject({
      status: 403,
      error: "PermissionDenied",
      message: MSG.notAllowed("create", "identity"),
    });

    // Given that right, it may create identities no stronger than itself, and no admin.
    const role = fx.acme.customRoles.find((r) => r.slug === "member-remover");
    if (!role) throw new Error("no member-remover role");
    await db.orgRoleDefinition.update({
      where: { id: role.id },
      data: {
        permissions: [
          { subject: "member", actions: ["read", "delete"] },
          { subject: "identity", actions: ["create"] },
        ],
      },
    });
    expect(await create("escalated", "admin")).toMatchObject({
      status: 403,
      error: "PermissionBoundaryError",
      message: MSG.roleBoundary,
    });
    expect(await db.identity.count({ where: { name: "escalated" } })).toBe(0);
    expect(await create("reader", "member")).toMatchObject({ status: 200 });

    // A plain member may not even list identities.
    const member = await trpcAs(fx.token(MEMBER));
    expect(await procedureOutcome(() => member.identities.list({ organizationId: fx.acme.id }))).toMatchObject({
      status: 403,
      error: "PermissionDenied",
      message: MSG.notAllowed("read", "identity"),
    });
  });

  it("lets an admin identity manage identities with its own token", async () => {
    const trpc = await trpcAs(await tokenFor(deprovisioner(fx)));
    const created = await procedureOutcome(() =>
      trpc.identities.create({ organizationId: fx.acme.id, name: "made-by-robot", role: "member" }),
    );
    expect(created).toMatchObject({ status: 200, data: { name: "made-by-robot", role: "member" } });
  });
});
