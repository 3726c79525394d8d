// The command-line tools as a developer runs them (`npm run -s …`), against the running server's
// database: identity:secret adds one client secret and changes nothing else; db:seed says before
// it writes that it replaces everything, and its --json output is a valid file.
import { DemoManifest } from "@roster/contract";
import { beforeEach, describe, expect, it } from "vitest";
import { baseUrl, identityOf, orgOf, reseed, runCommand, testDb, tokenOf } from "./support";

const npmRun = (args: string[]) => runCommand("npm", ["run", "-s", ...args]);

async function login(clientId: string, clientSecret: string): Promise<number> {
  const res = await fetch(`${baseUrl()}/api/v1/auth/universal-auth/login`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ clientId, clientSecret }),
  });
  return res.status;
}

async function meStatus(token: string): Promise<number> {
  const res = await fetch(`${baseUrl()}/api/trpc/viewer.me`, { headers: { authorization: `Bearer ${token}` } });
  return res.status;
}

let manifest: DemoManifest;
beforeEach(async () => {
  manifest = await reseed();
});

// Each run starts npm and tsx: on a busy machine that takes a while.
describe("npm run identity:secret", { timeout: 240_000 }, () => {
  it("creates one client secret that logs in, and leaves every other row, secret and session as it was", async () => {
    const db = await testDb();
    const acme = orgOf(manifest, "acme");
    const seeded = identityOf(manifest, "acme", "deprovisioner");
    const before = {
      memberships: await db.orgMembership.count(),
      secrets: await db.identityClientSecret.count(),
      sessions: await db.authSession.count({ where: { revokedAt: null } }),
    };

    const run = await npmRun(["identity:secret", "--", "--org", "acme", "--identity", "deprovisioner", "--json"]);
    expect(run.code, run.stderr).toBe(0);
    const out = JSON.parse(run.stdout) as Record<string, string>;
    expect(out).toEqual({
      organizationId: acme.id,
      organizationSlug: "acme",
      identityId: seeded.identityId,
      identityName: "deprovisioner",
      clientId: seeded.clientId,
      clientSecret: expect.stringMatching(/^[0-9a-f]{64}$/),
      clientSecretId: expect.any(String),
    });
    expect(out.clientSecret).not.toBe(seeded.clientSecret);

    expect(await login(seeded.clientId, out.clientSecret as string)).toBe(200);
    expect(await login(seeded.clientId, seeded.clientSecret)).toBe(200);
    expect(await meStatus(tokenOf(manifest, "acme", "admin@acme.test"))).toBe(200);
    expect(await db.orgMembership.count()).toBe(before.memberships);
    expect(await db.identityClientSecret.count()).toBe(before.secrets + 1);
    expect(await db.authSession.count({ where: { revokedAt: null } })).toBe(before.sessions);
    expect(await db.organization.findUnique({ where: { slug: "acme" }, select: { id: true } })).toEqual({
      id: acme.id,
    });

    // without --json: the client id and the secret, one a line; the explanation on stderr
    const text = await npmRun(["identity:secret", "--", "--org", "acme", "--identity", "deprovisioner"]);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`^clientId {6}${seeded.clientId}\\nclientSecret {2}[0-9a-f]{64}\\n$`));
    expect(text.stderr).toContain("shown only now");
  });

  it("refuses an unknown identity, an unknown organization and bad options in one line, adding nothing", async () => {
    const db = await testDb();
    const secrets = await db.identityClientSecret.count();
    const cases: [string[], RegExp][] = [
      [["--org", "acme", "--identity", "nobody"], /^No identity named nobody in acme$/],
      [["--org", "nowhere", "--identity", "deprovisioner"], /^No organization with slug nowhere$/],
      [["--org", "acme"], /^Usage: npm run identity:secret/],
      [["--org", "acme", "--identity", "deprovisioner", "--ttl=-5"], /^--ttl: /],
      [["--org", "acme", "--identity", "deprovisioner", "--bogus"], /Unknown option '--bogus'/],
    ];
    for (const [args, message] of cases) {
      const run = await npmRun(["identity:secret", "--", ...args]);
      expect(run.code, args.join(" ")).toBe(1);
      expect(run.stdout).toBe("");
      expect(run.stderr.trim().split("\n")).toHaveLength(1);
      expect(run.stderr.trim()).toMatch(message);
    }
    expect(await db.identityClientSecret.count()).toBe(secrets);
  });
});

describe("npm run db:seed", { timeout: 240_000 }, () => {
  it("says on stderr, before writing, that it replaces all data and ends every session; --json is a valid file", async () => {
    const token = tokenOf(manifest, "acme", "admin@acme.test");
    expect(await meStatus(token)).toBe(200);
    const run = await npmRun(["db:seed", "--", "--json"]);
    expect(run.code, run.stderr).toBe(0);
    const lines = run.stderr.trim().split("\n");
    expect(lines[0]).toMatch(/^db:seed replaces ALL data in .+ and ends every session/);
    expect(lines.findIndex((l) => l.startsWith("Seeded "))).toBeGreaterThan(0);
    const written = DemoManifest.parse(JSON.parse(run.stdout));
    expect(orgOf(written, "acme").id).not.toBe(orgOf(manifest, "acme").id);
    // as it said: the earlier token no longer works
    expect(await meStatus(token)).toBe(401);
  });
});
