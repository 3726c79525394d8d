// The README's API section, run as a reader would run it: every ```sh block, in order, in one bash
// session in the repository folder, against this run's server on its own (non-default) port. Each
// block must succeed, and a block the README follows with a ```json block must print JSON of that
// shape ("…" stands for any string or null; every other value must be as shown).
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { baseUrl, identityOf, memberOf, orgOf, reseed, testDb } from "@roster/api/testing";
import { repoRoot } from "@roster/config";
import type { DemoManifest } from "@roster/contract";
import { beforeAll, describe, expect, it } from "vitest";

const ROOT = repoRoot();

interface Block {
  /** The shell commands. */
  sh: string;
  /** The JSON the README shows right after it, if any. */
  json: string | null;
  line: number;
}

/** The ```sh blocks of the section under `heading` (up to the next `## ` heading). */
function blocksUnder(markdown: string, heading: string): Block[] {
  const start = markdown.indexOf(`\n${heading}\n`);
  if (start < 0) throw new Error(`README.md has no "${heading}" section`);
  const end = markdown.indexOf("\n## ", start + heading.length + 2);
  const section = markdown.slice(start, end < 0 ? undefined : end);
  const firstLine = markdown.slice(0, start).split("\n").length + 1;
  const fence = /```(\w*)\n([\s\S]*?)```/g;
  const found: { lang: string; body: string; index: number; end: number }[] = [];
  for (let m = fence.exec(section); m; m = fence.exec(section)) {
    found.push({ lang: m[1] ?? "", body: m[2] ?? "", index: m.index, end: m.index + m[0].length });
  }
  const blocks: Block[] = [];
  found.forEach((b, i) => {
    if (b.lang !== "sh") return;
    const next = found[i + 1];
    const between = next ? section.slice(b.end, next.index) : "";
    blocks.push({
      sh: b.body,
      json: next?.lang === "json" && between.trim() === "" ? next.body : null,
      line: firstLine + section.slice(0, b.index).split("\n").length - 1,
    });
  });
  return blocks;
}

/** Whether `actual` has the shape `shown` shows; returns the first difference, or null. */
function shapeDiff(shown: unknown, actual: unknown, where = "$"): string | null {
  if (typeof shown === "string" && shown.includes("…")) {
    return actual === null || typeof actual === "string"
      ? null
      : `${where}: expected a string, got ${JSON.stringify(actual)}`;
  }
  if (Array.isArray(shown)) {
    if (!Array.isArray(actual)) return `${where}: expected an array`;
    if (shown.length === 0) return actual.length === 0 ? null : `${where}: expected an empty array`;
    // one shown item stands for every item (however many); several must match one by one
    if (shown.length === 1) {
      for (const [i, item] of actual.entries()) {
        const d = shapeDiff(shown[0], item, `${where}[${i}]`);
        if (d) return d;
      }
      return null;
    }
    if (shown.length !== actual.length) return `${where}: expected ${shown.length} items, got ${actual.length}`;
    for (const [i, item] of shown.entries()) {
      const d = shapeDiff(item, actual[i], `${where}[${i}]`);
      if (d) return d;
    }
    return null;
  }
  if (shown && typeof shown === "object") {
    if (!actual || typeof actual !== "object" || Array.isArray(actual)) return `${where}: expected an object`;
    const a = Object.keys(shown).sort();
    const b = Object.keys(actual).sort();
    if (JSON.stringify(a) !== JSON.stringify(b))
      return `${where}: keys ${JSON.stringify(b)}, README shows ${JSON.stringify(a)}`;
    for (const key of a) {
      const d = shapeDiff(
        (shown as Record<string, unknown>)[key],
        (actual as Record<string, unknown>)[key],
        `${where}.${key}`,
      );
      if (d) return d;
    }
    return null;
  }
  return Object.is(shown, actual)
    ? null
    : `${where}: README shows ${JSON.stringify(shown)}, got ${JSON.stringify(actual)}`;
}

const marker = (i: number) => `@@readme-block-${i}@@`;

describe("README.md, the API section", () => {
  const blocks = blocksUnder(fs.readFileSync(path.join(ROOT, "README.md"), "utf8"), "## The API");
  let manifest: DemoManifest;
  let run: { status: number | null; stdout: string; stderr: string };
  const created: string[] = [];

  beforeAll(async () => {
    manifest = await reseed();
    const before = new Set(fs.readdirSync(ROOT));
    const script = [
      "set -euo pipefail",
      ...blocks.flatMap((b, i) => [`printf '\\n%s\\n' '${marker(i)}'`, b.sh]),
      `printf '\\n%s\\n' '${marker(blocks.length)}'`,
    ].join("\n");
    const port = new URL(baseUrl()).port;
    const { ROSTER_URL: _url, ROSTER_CLIENT_ID: _id, ROSTER_CLIENT_SECRET: _secret, ...env } = process.env;
    try {
      const result = spawnSync("bash", ["-c", script], {
        cwd: ROOT,
        encoding: "utf8",
        // as the README says: the server's port in PORT; the test server's database and secret
        // are what a developer's `npm start` would have in .data
        env: { ...env, PORT: port },
        timeout: 240_000,
        maxBuffer: 64 * 1024 * 1024,
      });
      run = { status: result.status, stdout: result.stdout, stderr: result.stderr };
    } finally {
      for (const name of fs.readdirSync(ROOT)) {
        if (before.has(name)) continue;
        created.push(name);
        fs.rmSync(path.join(ROOT, name), { recursive: true, force: true });
      }
    }
  }, 300_000);

  it("has the blocks a reader needs, on the server's port, with npm's own output kept out", () => {
    expect(blocks.length).toBeGreaterThanOrEqual(8);
    expect(new URL(baseUrl()).port).not.toBe("3000");
    for (const b of blocks) {
      expect(b.sh, `line ${b.line}`).not.toMatch(/localhost:3000/);
      expect(b.sh, `line ${b.line}`).not.toMatch(/<[a-z ]+>/); // no placeholder to fill in
      for (const npm of b.sh.match(/npm run [^\n]*/g) ?? []) expect(npm, `line ${b.line}`).toMatch(/^npm run -s /);
    }
    expect(blocks.some((b) => b.sh.includes("identity:secret"))).toBe(true);
    expect(blocks.some((b) => b.sh.includes("db:seed"))).toBe(false);
  });

  it("runs every block to the end, each printing what the README shows", async () => {
    expect(run.status, `bash failed:\n${run.stderr.slice(-4000)}`).toBe(0);
    const out = run.stdout;
    for (const [i, b] of blocks.entries()) {
      const from = out.indexOf(`${marker(i)}\n`);
      const to = out.indexOf(`\n${marker(i + 1)}`);
      expect(from, `block at line ${b.line} did not start`).toBeGreaterThanOrEqual(0);
      expect(to, `block at line ${b.line} did not finish`).toBeGreaterThan(from);
      if (b.json === null) continue;
      const printed = out.slice(from + marker(i).length + 1, to).trim();
      let actual: unknown;
      try {
        actual = JSON.parse(printed);
      } catch {
        throw new Error(`block at line ${b.line} printed no JSON: ${printed.slice(0, 500)}`);
      }
      expect(shapeDiff(JSON.parse(b.json), actual), `block at line ${b.line}`).toBeNull();
    }
    // and the files the README writes are what it says they are
    expect(created.sort()).toEqual(
      ["deprovisioner.json", "leavers.csv", "login.json", "members.json", "preview.json", "renewed.json"].sort(),
    );
  });

  it("did what it says: three members removed over REST (one sent twice with a key), one removed and restored, three by the CSV run, and nothing else", async () => {
    const db = await testDb();
    const acme = orgOf(manifest, "acme");
    const restored = memberOf(manifest, "acme", "user004@acme.test").membershipId;
    expect(await db.orgMembership.count({ where: { id: restored } })).toBe(1);
    const events = await db.auditEvent.findMany({ where: { targetId: restored }, select: { eventType: true } });
    expect(events.map((e) => e.eventType).sort()).toEqual([
      "organization.membership.deleted",
      "organization.membership.restored",
    ]);
    const gone = ["user001", "user002", "user005", "user010", "user011", "invitee03"].map((u) =>
      memberOf(manifest, "acme", `${u}@acme.test`),
    );
    expect(await db.orgMembership.count({ where: { id: { in: gone.map((m) => m.membershipId) } } })).toBe(0);
    expect(await db.orgMembership.count({ where: { orgId: acme.id } })).toBe(acme.members.length - gone.length);
    // identity:secret added a secret and left the seeded one working
    const identity = identityOf(manifest, "acme", "deprovisioner");
    const login = await fetch(`${baseUrl()}/api/v1/auth/universal-auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ clientId: identity.clientId, clientSecret: identity.clientSecret }),
    });
    expect(login.status).toBe(200);
    expect(run.stdout).toContain("Dry run: nothing removed.");
    // The removal sent twice under one key: removed once, the second answer a replay of the first.
    const user005 = memberOf(manifest, "acme", "user005@acme.test").membershipId;
    const keyed = await db.auditEvent.findMany({ where: { targetId: user005 }, select: { batchId: true } });
    expect(keyed).toHaveLength(1);
    const ids = [...run.stdout.matchAll(/^x-request-id: (req-[A-Za-z0-9]{14})\r?$/gim)].map((m) => m[1]);
    expect(ids).toEqual([keyed[0]?.batchId, keyed[0]?.batchId]);
    expect(run.stdout).toMatch(/^idempotent-replayed: true\r?$/im);
  });
});
