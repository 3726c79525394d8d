// Starts what every test file shares: a fresh database and the built web app serving it.
// PostgreSQL when DATABASE_URL is set (a new database on that server, dropped afterwards, so a
// developer's own data is never touched); otherwise a new embedded database in a temp folder.
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type {} from "@roster/api/testing";
import { loadConfig, repoRoot } from "@roster/config";
import { freePort } from "@roster/config/net";
import pg from "pg";
import type { TestProject } from "vitest/node";
import { type RosterServer, startRoster } from "../scripts/server";

async function withAdmin<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const admin = new URL(url);
  admin.pathname = "/postgres";
  const client = new pg.Client({ connectionString: admin.toString() });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

let server: RosterServer | undefined;
let cleanup: (() => Promise<void>)[] = [];

export async function setup(project: TestProject): Promise<void> {
  const root = repoRoot();
  const artifactsDir = path.join(root, "test-artifacts");
  fs.mkdirSync(artifactsDir, { recursive: true });
  const env: Record<string, string | undefined> = {
    ...process.env,
    NODE_ENV: "test",
    AUTH_SECRET: randomBytes(48).toString("base64url"),
    PORT: String(await freePort()),
    LOG_LEVEL: process.env.LOG_LEVEL ?? "warn",
  };

  const given = loadConfig({ DATABASE_URL: process.env.DATABASE_URL, AUTH_SECRET: env.AUTH_SECRET });
  if (given.database.kind === "postgres") {
    const name = `roster_test_${Date.now()}_${randomBytes(3).toString("hex")}`;
    await withAdmin(given.database.url, (c) => c.query(`CREATE DATABASE "${name}"`));
    const url = new URL(given.database.url);
    url.pathname = `/${name}`;
    env.DATABASE_URL = url.toString();
    const serverUrl = given.database.url;
    cleanup.push(async () => {
      await withAdmin(serverUrl, (c) => c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`));
    });
  } else {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "roster-test-"));
    env.DATABASE_URL = undefined;
    env.PGLITE_DIR = path.join(dir, "pglite");
    cleanup.push(async () => fs.rmSync(dir, { recursive: true, force: true }));
  }

  const config = loadConfig(env);
  const logFile = fs.openSync(path.join(artifactsDir, "server.log"), "w");
  cleanup.push(async () => fs.closeSync(logFile));
  server = await startRoster({ config, serverOutput: logFile, log: (line) => console.error(`[setup] ${line}`) });

  // Test workers reach the same database the server uses (for the embedded one, its loopback port).
  process.env.DATABASE_URL = server.databaseUrl;
  process.env.AUTH_SECRET = env.AUTH_SECRET;
  delete process.env.PGLITE_DIR;
  process.env.LOG_LEVEL = env.LOG_LEVEL;
  project.provide("baseUrl", server.url);
  project.provide("databaseUrl", server.databaseUrl);
  project.provide("databaseKind", config.database.kind);
  project.provide("artifactsDir", artifactsDir);
  console.error(
    `[setup] Roster at ${server.url} on ${config.database.kind === "postgres" ? "PostgreSQL" : "the embedded database"}`,
  );
}

export async function teardown(): Promise<void> {
  await server?.stop();
  for (const fn of cleanup.reverse()) await fn().catch((err) => console.error(`[teardown] ${String(err)}`));
  cleanup = [];
}
