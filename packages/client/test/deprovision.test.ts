// examples/deprovision.ts end to end: the script run as a user would run it, against the app.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import {
  baseUrl,
  type Finished,
  identityOf,
  MSG,
  memberOf,
  orgOf,
  REQ_ID_TEXT,
  reseed,
  runCommand,
  testDb,
} from "@roster/api/testing";
import type { DemoManifest, ManifestIdentity } from "@roster/contract";
import { afterAll, beforeEach, describe, expect, it } from "vitest";
import { lossyProxy } from "./lossy-proxy";

const ROOT = fileURLToPath(new URL("../../..", import.meta.url));
const TSX = path.join(ROOT, "node_modules/.bin/tsx");
const SCRIPT = path.join(ROOT, "examples/deprovision.ts");
const LEAVERS = ["user003@acme.test", "user004@acme.test", "invitee02@acme.test"];
const LAST_ADMIN = MSG.lastAdmin;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), "roster-deprovision-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

let manifest: DemoManifest;
let identity: ManifestIdentity;
beforeEach(async () => {
  manifest = await reseed();
  identity = identityOf(manifest, "acme", "deprovisioner");
});

function csv(name: string, lines: string[]): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, `${lines.join("\n")}\n`);
  return file;
}

/**
 * Runs the script with the identity's credentials in the environment (as the script suggests),
 * and `--url` unless `env` says where the server is instead.
 */
function deprovision(args: string[], env?: Record<string, string>): Promise<Finished> {
  const where = env ? [] : ["--url", baseUrl()];
  const { ROSTER_URL: _url, PORT: _port, ...inherited } = process.env;
  return runCommand(TSX, [SCRIPT, ...where, "--org", orgOf(manifest, "acme").id, ...args], {
    env: {
      ...inherited,
      ROSTER_CLIENT_ID: identity.clientId,
      ROSTER_CLIENT_SECRET: identity.clientSecret,
      ...env,
    },
  });
}

async function remaining(emails: string[]): Promise<number> {
  const db = await testDb();
  const ids = emails.map((e) => memberOf(manifest, "acme", e).membershipId);
  return db.orgMembership.count({ where: { id: { in: ids } } });
}

/** The CSV of the brief: a header, three acme members (one an invite), one unknown, one invalid line. */
const leaversCsv = () =>
  csv("leavers.csv", [
    "email",
    " User003@Acme.test ",
    "user004@acme.test",
    "",
    "invitee02@acme.test",
    "user003@acme.test",
    "nobody@acme.test",
    "not an email",
  ]);

describe("examples/deprovision.ts", () => {
  it("--dry-run previews the removal and removes nothing", async () => {
    const run = await deprovision(["--csv", leaversCsv(), "--dry-run"]);
    expect(run.stderr).toContain("not an email, skipped: not an email");
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain("Read 4 emails");
    expect(run.stdout).toContain("1 invalid line skipped, 1 duplicate ignored");
    expect(run.stdout).toContain("Found 3 memberships for 3 of 4 emails.");
    expect(run.stdout).toContain("No membership in this organization: nobody@acme.test");
    expect(run.stdout).toMatch(/Would remove 3 memberships \(and 4 project memberships\) in 1 batch:/);
    for (const email of LEAVERS) expect(run.stdout).toContain(email);
    expect(run.stdout).toContain("Dry run: nothing removed.");
    expect(await remaining(LEAVERS)).toBe(3);
  });

  it("finds the server through ROSTER_URL, else PORT, without --url", async () => {
    const port = new URL(baseUrl()).port;
    expect(port).not.toBe("3000");
    const byPort = await deprovision(["--csv", leaversCsv(), "--dry-run"], { PORT: port });
    expect(byPort.code, byPort.stderr).toBe(0);
    expect(byPort.stdout).toContain("Found 3 memberships for 3 of 4 emails.");
    const byUrl = await deprovision(["--csv", leaversCsv(), "--dry-run"], { ROSTER_URL: `${baseUrl()}/`, PORT: "1" });
    expect(byUrl.code, byUrl.stderr).toBe(0);
    expect(byUrl.stdout).toContain("Dry run: nothing removed.");
  }, 120_000);

  it("removes exactly the listed members in batches and prints the summary", async () => {
    const db = await testDb();
    const acme = orgOf(manifest, "acme");
    const run = await deprovision(["--csv", leaversCsv(), "--batch-size", "2"]);
    expect(run.code, run.stderr).toBe(0);
    expect(await remaining(LEAVERS)).toBe(0);
    expect(await db.orgMembership.count({ where: { orgId: acme.id } })).toBe(acme.members.length - 3);

    // not a terminal: one plain progress line per batch
    expect(run.stderr).toMatch(/^batch 1\/2: removed 2 \(2\/3 removed\)$/m);
    expect(run.stderr).toMatch(/^batch 2\/2: removed 1 \(3\/3 removed\)$/m);
    expect(run.stdout).toMatch(/found\s+3\n\s+not found\s+1\n\s+invalid lines\s+1\n\s+removed\s+3\n\s+failed\s+0/);
    const batches = [
      ...run.stdout.matchAll(new RegExp(String.raw`^\s+(\d)\s+(\d)\s+(\d)\s+200\s+(${REQ_ID_TEXT})$`, "gm")),
    ];
    expect(batches.map((m) => [m[1], m[2], m[3]])).toEqual([
      ["1", "2", "2"],
      ["2", "1", "1"],
    ]);
    // each batch is one request in the audit log, under its reqId
    const events = await db.auditEvent.groupBy({
      by: ["batchId"],
      where: { batchId: { in: batches.map((m) => m[4] as string) } },
      _count: true,
    });
    expect(events.map((e) => e._count).sort()).toEqual([1, 2]);
  });

  it("sends a batch whose answer was lost again with its key: removed once, replayed", async () => {
    // The first removal's answer is cut off after the server committed it.
    let dropped = false;
    const proxy = await lossyProxy(baseUrl(), (req) => {
      if (dropped || req.method !== "DELETE") return null;
      dropped = true;
      return "drop";
    });
    try {
      const run = await deprovision(["--csv", leaversCsv()], { ROSTER_URL: proxy.url });
      expect(run.code, run.stderr).toBe(0);
      expect(run.stderr).toMatch(/^attempt 1 failed \(network error: .*\); retrying in \d+ ms with the same key$/m);
      expect(proxy.seen.filter((s) => s.startsWith("DELETE"))).toHaveLength(2);
      const [batch] = [...run.stdout.matchAll(/^\s+1\s+3\s+3\s+200 replayed\s+(req-[A-Za-z0-9]{14})$/gm)];
      expect(batch, run.stdout).toBeDefined();
      expect(await remaining(LEAVERS)).toBe(0);
      // One removal: three events, under the id of the request that made it.
      const events = await (await testDb()).auditEvent.findMany({
        where: { eventType: "organization.membership.deleted" },
        select: { batchId: true },
      });
      expect(events.map((e) => e.batchId)).toEqual([batch?.[1], batch?.[1], batch?.[1]]);
    } finally {
      await proxy.close();
    }
  });

  it("stops at the preview when the last admins are listed: exit 1, the reason, nothing removed", async () => {
    const file = csv("admins.csv", ["admin@acme.test", "admin2@acme.test", "user005@acme.test"]);
    const run = await deprovision(["--csv", file]);
    expect(run.code).toBe(1);
    expect(run.stderr.trim().split("\n").at(-1)).toBe(
      `deprovision: the server would refuse, nothing removed: 400 BadRequest: ${LAST_ADMIN}`,
    );
    expect(await remaining(["admin@acme.test", "admin2@acme.test", "user005@acme.test"])).toBe(3);

    // One admin a batch: each batch alone would pass, so the script checks the batches together.
    const split = await deprovision(["--csv", file, "--batch-size", "1"]);
    expect(split.code).toBe(1);
    expect(split.stderr.trim().split("\n").at(-1)).toBe(
      "deprovision: the batches together would leave the organization with no admin " +
        "(admin@acme.test, admin2@acme.test), nothing removed. Promote another user to admin first.",
    );
    expect(await remaining(["admin@acme.test", "admin2@acme.test", "user005@acme.test"])).toBe(3);
  }, 120_000);

  it("stops at the first refused batch, saying which, with the server's status, error and reqId", async () => {
    // The identity's tokens are good for 4 requests: the listing, two previews and the first batch.
    const db = await testDb();
    await db.identityUniversalAuth.update({
      where: { identityId: identity.identityId },
      data: { accessTokenNumUsesLimit: 4 },
    });
    const file = csv("four.csv", ["user007@acme.test", "user008@acme.test", "user009@acme.test"]);
    const run = await deprovision(["--csv", file, "--batch-size", "2"]);
    expect(run.code).toBe(1);
    expect(run.stderr.trim().split("\n").at(-1)).toMatch(
      new RegExp(
        String.raw`^deprovision: batch 2 of 2 was refused: 401 StaleSession: User session is stale, please re-authenticate \(${REQ_ID_TEXT}\)$`,
      ),
    );
    expect(run.stdout).toMatch(/removed\s+2\n\s+failed\s+1\n/);
    expect(run.stdout).toMatch(new RegExp(String.raw`^\s+1\s+2\s+2\s+200\s+${REQ_ID_TEXT}$`, "m"));
    expect(run.stdout).toMatch(new RegExp(String.raw`^\s+2\s+1\s+0\s+401 StaleSession\s+${REQ_ID_TEXT}$`, "m"));
    expect(await remaining(["user007@acme.test", "user008@acme.test"])).toBe(0);
    expect(await remaining(["user009@acme.test"])).toBe(1);
  });

  it("refuses a failed login and bad usage in one line", async () => {
    const file = csv("one.csv", ["user006@acme.test"]);
    const bad = await deprovision(["--csv", file, "--client-secret", "wrong"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr.trim()).toMatch(
      new RegExp(
        String.raw`^deprovision: login failed: 401 UnauthorizedError: Invalid credentials \(${REQ_ID_TEXT}\)$`,
      ),
    );
    const usage = await deprovision(["--csv", file, "--batch-size", "5000"]);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain("--batch-size 5000 is over the limit of 1000");
    expect(await remaining(["user006@acme.test"])).toBe(1);
  });
});
