// A database of the run's kind that no other test touches, for the start-up and command-line
// tests that need one empty: a new database on the run's PostgreSQL server, or a new embedded
// database folder. Also runs the project's command-line entry points against it, as child processes.
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { type Finished, runCommand } from "@roster/api/testing";
import { repoRoot } from "@roster/config";
import { type DbHandle, openDb } from "@roster/db";
import { applyMigrations } from "@roster/db/migrate";
import pg from "pg";
import { inject } from "vitest";

export interface FreshDatabase {
  /** The variables that point Roster at it (the others unset). */
  env: Record<string, string | undefined>;
  /** A client on it (through the owner's port when a Roster process owns the embedded folder). */
  open(): Promise<DbHandle>;
  migrate(): Promise<void>;
  drop(): Promise<void>;
}

export async function freshDatabase(): Promise<FreshDatabase> {
  if (inject("databaseKind") === "postgres") {
    const admin = new URL(inject("databaseUrl"));
    admin.pathname = "/postgres";
    const name = `roster_fresh_${Date.now()}_${randomBytes(3).toString("hex")}`;
    const sql = async (text: string) => {
      const client = new pg.Client({ connectionString: admin.toString() });
      await client.connect();
      try {
        await client.query(text);
      } finally {
        await client.end();
      }
    };
    await sql(`CREATE DATABASE "${name}"`);
    const url = new URL(admin);
    url.pathname = `/${name}`;
    return {
      env: { DATABASE_URL: url.toString(), PGLITE_DIR: undefined },
      open: () => openDb({ kind: "postgres", url: url.toString() }),
      migrate: async () => void (await applyMigrations({ kind: "postgres", url: url.toString() })),
      drop: () => sql(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`),
    };
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "roster-fresh-"));
  const dir = path.join(tmp, "pglite");
  const open = () => openDb({ kind: "embedded", dir });
  return {
    env: { DATABASE_URL: undefined, PGLITE_DIR: dir },
    open,
    async migrate() {
      const handle = await open();
      try {
        await applyMigrations({ kind: "postgres", url: handle.url as string });
      } finally {
        await handle.close();
      }
    },
    drop: async () => fs.rmSync(tmp, { recursive: true, force: true }),
  };
}

const tsx = () => path.join(repoRoot(), "node_modules/.bin/tsx");

/** The environment of a command run for a test: the run's own, with `env` on top (undefined unsets). */
export function commandEnv(env: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const merged: Record<string, string | undefined> = { ...process.env, PGLITE_DIR: undefined, ...env };
  return Object.fromEntries(Object.entries(merged).filter(([, v]) => v !== undefined)) as NodeJS.ProcessEnv;
}

/** Runs a TypeScript entry point of the repository (`packages/api/src/cli/seed.ts`, say) to its end. */
export function runScript(script: string, args: string[], env: Record<string, string | undefined>): Promise<Finished> {
  return runCommand(tsx(), [script, ...args], { env: commandEnv(env) });
}

export interface Started {
  output: () => string;
  stop(): Promise<void>;
}

/**
 * Starts `npm start` (apps/web/scripts/start.ts) and resolves once it says where it runs. It runs
 * in a process group of its own, so that stopping it also stops the web server it started.
 */
export function startRosterProcess(env: Record<string, string | undefined>, timeoutMs = 300_000): Promise<Started> {
  return new Promise((resolve, reject) => {
    // node itself (not the tsx wrapper), so that SIGTERM reaches start.ts's own shutdown
    const child = spawn(process.execPath, ["--import", "tsx", "apps/web/scripts/start.ts"], {
      cwd: repoRoot(),
      env: commandEnv(env),
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    const pid = child.pid as number;
    let output = "";
    const exited = new Promise<void>((r) => child.once("exit", () => r()));
    const signalGroup = (signal: NodeJS.Signals) => {
      try {
        process.kill(-pid, signal);
      } catch {
        // the group is already gone
      }
    };
    const stop = async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      const timer = setTimeout(() => signalGroup("SIGKILL"), 60_000);
      await exited;
      clearTimeout(timer);
      signalGroup("SIGKILL"); // whatever it left behind
    };
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`Roster did not start within ${timeoutMs / 1000} s:\n${output}`));
    }, timeoutMs);
    const onData = (d: Buffer) => {
      output += d.toString();
      if (/Roster is running at/.test(output)) {
        clearTimeout(timer);
        resolve({ output: () => output, stop });
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`Roster exited before it was running:\n${output}`));
    });
  });
}

/**
 * Runs a TypeScript entry point on a terminal of its own (util-linux `script` gives it one) and
 * types each answer once its prompt has appeared (prompts must differ from one another). Returns everything the terminal showed.
 */
export function runOnTerminal(
  script: string,
  args: string[],
  env: Record<string, string | undefined>,
  answers: [prompt: string, answer: string][],
): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const command = [tsx(), script, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(" ");
    const child = spawn("script", ["-qec", command, "/dev/null"], {
      cwd: repoRoot(),
      env: commandEnv(env),
      stdio: ["pipe", "pipe", "pipe"],
    });
    let output = "";
    let next = 0;
    const onData = (d: Buffer) => {
      output += d.toString();
      const step = answers[next];
      // each prompt is answered once, in order (the prompts differ)
      if (step && output.includes(step[0])) {
        next++;
        child.stdin.write(`${step[1]}\r`);
      }
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.once("error", reject);
    child.once("close", (code) => resolve({ code, output }));
  });
}
