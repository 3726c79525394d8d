import { getConfig } from "@roster/config";
import { DemoManifest } from "@roster/contract";
import { describe, expect, it } from "vitest";
import { verifyBearer } from "../src/auth/caller";
import { universalAuthLogin } from "../src/services/universal-auth";
import { memberOf, orgOf, reseed, testDb } from "./support";

describe("demo data", () => {
  it("writes the data set of the spec and a manifest whose every token verifies", async () => {
    const manifest = DemoManifest.parse(await reseed());
    const acme = orgOf(manifest, "acme");
    const globex = orgOf(manifest, "globex");
    expect(acme.name).toBe("Acme Corp");
    expect(globex.name).toBe("Globex");
    expect(acme.projects.map((p) => p.slug).sort()).toEqual(["api", "infra", "web"]);
    expect(globex.projects.map((p) => p.slug)).toEqual(["core"]);
    expect(acme.customRoles.map((r) => r.slug)).toEqual(["member-remover"]);
    // 5 named + 200 users + 10 invitees + 5 inactive
    expect(acme.members).toHaveLength(220);
    expect(globex.members).toHaveLength(22);

    const users = acme.members.filter((m) => /^user\d{3}@/.test(m.email));
    expect(users).toHaveLength(200);
    for (const u of users) {
      expect(u).toMatchObject({ role: "member", status: "accepted", isActive: true });
      expect(u.projectMembershipIds).toHaveLength(2);
    }
    const invitees = acme.members.filter((m) => m.email.startsWith("invitee"));
    expect(invitees).toHaveLength(10);
    for (const i of invitees) expect(i).toMatchObject({ status: "invited", userId: null, accessToken: null });
    const inactive = acme.members.filter((m) => m.email.startsWith("inactive"));
    expect(inactive.map((m) => m.isActive)).toEqual([false, false, false, false, false]);
    expect(memberOf(manifest, "acme", "remover@acme.test")).toMatchObject({
      role: "custom",
      roleId: acme.customRoles[0]?.id,
    });
    expect(memberOf(manifest, "acme", "noaccess@acme.test").role).toBe("no-access");
    expect(memberOf(manifest, "globex", "member@acme.test").userId).toBe(
      memberOf(manifest, "acme", "member@acme.test").userId,
    );
    for (const m of globex.members.filter((x) => x.email.startsWith("user")))
      expect(m.projectMembershipIds).toHaveLength(1);

    // the machine identity: listed with working Universal Auth credentials, never among the members
    expect(globex.identities).toEqual([]);
    expect(acme.identities).toHaveLength(1);
    const [deprovisioner] = acme.identities;
    expect(deprovisioner).toMatchObject({ name: "deprovisioner", role: "admin" });
    expect(deprovisioner?.clientSecret).toMatch(/^[0-9a-f]{64}$/);
    expect(acme.members.some((m) => m.email.includes("deprovisioner"))).toBe(false);

    const prisma = await testDb();
    const login = await universalAuthLogin(
      prisma,
      getConfig().authSecret,
      { clientId: deprovisioner?.clientId ?? "", clientSecret: deprovisioner?.clientSecret ?? "" },
      { ip: "127.0.0.1", userAgent: "seed test" },
    );
    await expect(verifyBearer(prisma, `Bearer ${login.accessToken}`, getConfig().authSecret)).resolves.toMatchObject({
      kind: "identity",
      identityId: deprovisioner?.identityId,
      organizationId: acme.id,
      membership: { role: "admin" },
    });
    const invite = await prisma.orgMembership.findUniqueOrThrow({ where: { id: invitees[0]?.membershipId } });
    expect(invite.inviteEmail).toBe("invitee01@acme.test");
    expect(invite.lastInvitedAt).not.toBeNull();
    expect(await prisma.projectMembership.count()).toBe(420);
    expect(await prisma.user.count()).toBe(5 + 200 + 5 + 21);

    // every token in the manifest passes checks 1 to 5, except the inactive members' (check 5)
    const secret = getConfig().authSecret;
    for (const org of manifest.organizations) {
      for (const m of org.members.filter((x) => x.accessToken)) {
        const verified = verifyBearer(prisma, `Bearer ${m.accessToken}`, secret);
        if (m.isActive) await expect(verified).resolves.toMatchObject({ userId: m.userId, organizationId: org.id });
        else await expect(verified).rejects.toThrow("User organization membership is inactive");
      }
    }
  });

  it("gives the same data set when run again", async () => {
    const snapshot = async () => {
      const prisma = await testDb();
      const rows = await prisma.orgMembership.findMany({
        select: {
          role: true,
          status: true,
          isActive: true,
          inviteEmail: true,
          projectFavorites: true,
          lastLoginTime: true,
          org: { select: { slug: true } },
          user: { select: { email: true, projectMemberships: { select: { project: { select: { slug: true } } } } } },
        },
      });
      return rows
        .map((r) =>
          JSON.stringify({
            ...r,
            user: r.user && {
              email: r.user.email,
              projects: r.user.projectMemberships.map((p) => p.project.slug).sort(),
            },
          }),
        )
        .sort();
    };
    await reseed();
    const first = await snapshot();
    await reseed();
    expect(await snapshot()).toEqual(first);
    expect(first).toHaveLength(242);
  });
});
