// Checks 1 to 5 of the contract ("Order of checks", "Access tokens"), row by row, against
// verifyBearer directly (the rows: verify-token-rows.ts; over HTTP: verify-token-http.test.ts).
import type { DemoManifest } from "@roster/contract";
import { decodeJwt } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { verifyBearer } from "../src/auth/caller";
import { AppError } from "../src/errors";
import { can } from "../src/permissions";
import { MSG, memberOf, orgOf, reseed, testDb, tokenOf } from "./support";
import { ROWS, secret, token } from "./verify-token-rows";

describe("verifyBearer, checks 1 to 5", () => {
  let manifest: DemoManifest;
  beforeAll(async () => {
    manifest = await reseed();
  });

  it.each(ROWS)("refuses $name: $status $error", async (row) => {
    const authorization = await row.authorization(manifest);
    const err = await verifyBearer(await testDb(), authorization, secret()).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AppError);
    const app = err as AppError;
    expect({ status: app.status, error: app.errorName, message: app.message }).toEqual({
      status: row.status,
      error: row.error,
      message: row.message,
    });
    expect(app.headers["WWW-Authenticate"] ?? null).toBe(row.wwwAuthenticate);
  });

  it("accepts a valid token and returns the caller with its rules", async () => {
    const prisma = await testDb();
    const acme = orgOf(manifest, "acme");
    const admin = memberOf(manifest, "acme", "admin@acme.test");
    const caller = await verifyBearer(prisma, token(tokenOf(manifest, "acme", admin.email)), secret());
    expect(caller).toMatchObject({
      userId: admin.userId,
      email: admin.email,
      sessionId: decodeJwt(admin.accessToken as string).tokenVersionId,
      organizationId: acme.id,
      membership: { id: admin.membershipId, role: "admin", roleId: null },
    });
    expect(can(caller.rules, "delete", "member")).toBe(true);

    const member = memberOf(manifest, "acme", "member@acme.test");
    const plain = await verifyBearer(prisma, `bearer ${member.accessToken}`, secret());
    expect(plain).toMatchObject({ userId: member.userId, organizationId: acme.id, membership: { role: "member" } });
    expect(can(plain.rules, "read", "member")).toBe(true);
    expect(can(plain.rules, "delete", "member")).toBe(false);

    const remover = memberOf(manifest, "acme", "remover@acme.test");
    const custom = await verifyBearer(prisma, token(remover.accessToken as string), secret());
    expect(custom.membership).toEqual({ id: remover.membershipId, role: "custom", roleId: remover.roleId });
    expect(can(custom.rules, "delete", "member")).toBe(true);

    // the same user's token for the other organization resolves that membership
    const inGlobex = await verifyBearer(prisma, token(tokenOf(manifest, "globex", member.email)), secret());
    expect(inGlobex).toMatchObject({ userId: member.userId, organizationId: orgOf(manifest, "globex").id });
  });

  it("keeps accepting a valid token and refuses a removed member at once", async () => {
    const prisma = await testDb();
    const user = memberOf(manifest, "acme", "user020@acme.test");
    const authorization = token(user.accessToken as string);
    for (let i = 0; i < 3; i++) {
      await expect(verifyBearer(prisma, authorization, secret())).resolves.toMatchObject({ userId: user.userId });
    }
    await prisma.orgMembership.delete({ where: { id: user.membershipId } });
    await expect(verifyBearer(prisma, authorization, secret())).rejects.toMatchObject({
      status: 403,
      errorName: "ForbiddenError",
      message: MSG.notMember,
    });
  });
});
