// A caller is verified before the removal's transaction; under its lock the caller's own
// membership is read again, so a request that committed first (removing or demoting the
// caller) wins.
import { getConfig } from "@roster/config";
import { beforeEach, describe, expect, it } from "vitest";
import { verifyBearer } from "../src/auth/caller";
import { bulkDeleteMemberships, previewBulkDeleteMemberships } from "../src/services/bulk-delete-memberships";
import { memberOf, reseed, testDb, tokenOf } from "./support";

const origin = { reqId: "req-StaleCaller0001", ip: null, userAgent: null };

describe("a caller changed after its token was verified", () => {
  let manifest: Awaited<ReturnType<typeof reseed>>;
  beforeEach(async () => {
    manifest = await reseed();
  });

  const callerOf = async (email: string) =>
    verifyBearer(await testDb(), `Bearer ${tokenOf(manifest, "acme", email)}`, getConfig().authSecret);

  it("cannot remove anyone once it was removed itself", async () => {
    const prisma = await testDb();
    const admin2 = await callerOf("admin2@acme.test");
    const admin = await callerOf("admin@acme.test");
    await bulkDeleteMemberships(prisma, admin, [memberOf(manifest, "acme", "admin2@acme.test").membershipId], origin);

    const target = memberOf(manifest, "acme", "admin@acme.test").membershipId;
    await expect(bulkDeleteMemberships(prisma, admin2, [target], origin)).rejects.toMatchObject({
      status: 403,
      errorName: "ForbiddenError",
      message: "User not member of organization",
    });
    expect(await prisma.orgMembership.count({ where: { id: target } })).toBe(1);
    const preview = await previewBulkDeleteMemberships(prisma, admin2, [target]);
    expect(preview.blocker).toMatchObject({ statusCode: 403, message: "User not member of organization" });
  });

  it("acts with its current role, not the one its token saw", async () => {
    const prisma = await testDb();
    const admin2 = await callerOf("admin2@acme.test");
    await prisma.orgMembership.update({
      where: { id: memberOf(manifest, "acme", "admin2@acme.test").membershipId },
      data: { role: "member" },
    });
    const target = memberOf(manifest, "acme", "user001@acme.test").membershipId;
    await expect(bulkDeleteMemberships(prisma, admin2, [target], origin)).rejects.toMatchObject({
      status: 403,
      errorName: "PermissionDenied",
      details: [{ subject: "member", actions: ["read"] }],
    });

    await prisma.orgMembership.update({
      where: { id: memberOf(manifest, "acme", "admin2@acme.test").membershipId },
      data: { role: "admin", isActive: false },
    });
    await expect(bulkDeleteMemberships(prisma, admin2, [target], origin)).rejects.toMatchObject({
      status: 403,
      message: "User organization membership is inactive",
    });
    expect(await prisma.orgMembership.count({ where: { id: target } })).toBe(1);
  });
});
