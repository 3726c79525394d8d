// Starts Roster: opens the database (becoming the owner of the embedded one when no
// DATABASE_URL is set), applies pending migrations, seeds the demo data into an empty database
// (never under NODE_ENV=production, where it says how to create the first organization instead),
// builds the web app when its build is missing or stale, and runs `next start` on it.
// `npm start` and the test suite both start Roster through here, so they run the same thing.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { type Config, repoRoot, trustProxySetting } from "@roster/config";
import { type DbHandle, type MaintenanceReport, openDb, startEmbeddedServer } from "@roster/db";
import { applyMigrations } from "@roster/db/migrate";
import { describeSeedTarget, isEmpty, seedDemoData } from "@roster/db/seed";

const root = repoRoot();
const webDir = path.join(root, "apps/web");
const nextBin = path.join(root, "node_modules/next/dist/bin/next");
const stampFile = path.join(webDir, ".next/roster-source-stamp");

/** Said at start-up while no organization exists (in production nothing is ever seeded). */
export const FIRST_ADMIN_HINT =
  "No organization yet: create the first one and its admin with npm run admin:create -- --email <e> --org <slug>";

export interface RosterServer {
  url: string;
  port: number;
  pid: number;
  db: DbHandle;
  /** The URL the web app uses for its database (the embedded database's loopback port when embedded). */
  databaseUrl: string;
  /** The database holds the demo data set (and nothing else). */
  demoData: boolean;
  stop(): Promise<void>;
  exited: Promise<number>;
}

export interface StartOptions {
  config: Config;
  /** Seed the demo data when the database is empty (default true; never under NODE_ENV=production). */
  seedIfEmpty?: boolean;
  log?: (line: string) => void;
  /** Where the web server's own output goes: inherited (default), ignored, or a file descriptor. */
  serverOutput?: "inherit" | "ignore" | number;
}

/** One line per maintenance pass of the embedded database that did something, or failed. */
function maintenanceLog(log: (line: string) => void): MaintenanceReport {
  return (event) => {
    if ("error" in event) {
      log(`Embedded database maintenance failed: ${event.error.message}`);
      return;
    }
    const done = event.actions.map(
      (a) => `${a.table} (${[a.vacuum && "vacuum", a.analyze && "analyze"].filter(Boolean).join(", ")}, ${a.ms} ms)`,
    );
    log(`Embedded database maintenance in ${event.ms} ms: ${done.join("; ")}`);
  };
}

/** Opens the configured database as its owner (the embedded one is refused if already in use). */
async function openOwned(config: Config, log: (line: string) => void): Promise<DbHandle> {
  if (config.database.kind === "postgres") return openDb(config.database);
  const embedded = await startEmbeddedServer(config.database.dir, { onMaintenance: maintenanceLog(log) }).catch(
    (err: Error) => {
      throw new Error(`${err.message}: is Roster already running? Stop it, or set DATABASE_URL.`);
    },
  );
  const handle = await openDb({ kind: "postgres", url: embedded.url, preparedStatements: true });
  return {
    ...handle,
    embedded,
    async close() {
      await handle.close();
      await embedded.close();
    },
  };
}

function walk(dir: string, out: string[]): void {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const e of entries) {
    if (
      e.name === "node_modules" ||
      e.name === ".next" ||
      e.name === ".turbo" ||
      e.name === "test" ||
      e.name === "bench"
    )
      continue;
    // written by the build itself
    if (e.name === "next-env.d.ts" || e.name === ".build-lock" || e.name.endsWith(".tsbuildinfo")) continue;
    const p = path.join(dir, e.name);
    if (e.isDirectory()) walk(p, out);
    else out.push(p);
  }
}

/** A fingerprint of everything the web build is made from (paths, sizes and modification times). */
export function sourceStamp(): string {
  const files: string[] = [path.join(root, "package-lock.json"), path.join(root, "tsconfig.base.json")];
  walk(webDir, files);
  // The packages the web app is built from (not packages/client, which only external callers use).
  for (const pkg of ["api", "config", "contract", "db"]) walk(path.join(root, "packages", pkg), files);
  const h = createHash("sha256");
  for (const f of files.sort()) {
    try {
      const s = fs.statSync(f);
      h.update(`${path.relative(root, f)}\0${s.size}\0${s.mtimeMs}\n`);
    } catch {
      // vanished while reading: it changes the stamp by its absence
    }
  }
  return h.digest("hex");
}

export function buildIsCurrent(): boolean {
  try {
    return (
      fs.existsSync(path.join(webDir, ".next/BUILD_ID")) && fs.readFileSync(stampFile, "utf8").trim() === sourceStamp()
    );
  } catch {
    return false;
  }
}

const buildLock = path.join(webDir, ".build-lock");

function lockHolder(): number | null {
  try {
    const pid = Number(fs.readFileSync(buildLock, "utf8"));
    process.kill(pid, 0);
    return pid;
  } catch {
    return null;
  }
}

/**
 * Builds the web app (`next build`) unless the existing build is current. Two processes (two
 * test runs, say) never build at once: the second waits for the first and reuses its build.
 */
export async function ensureBuild(log: (line: string) => void = console.error): Promise<void> {
  for (;;) {
    if (buildIsCurrent()) return;
    try {
      fs.writeFileSync(buildLock, String(process.pid), { flag: "wx" });
      break;
    } catch {
      if (lockHolder() === null) fs.rmSync(buildLock, { force: true });
      else await new Promise((r) => setTimeout(r, 500));
    }
  }
  try {
    if (buildIsCurrent()) return;
    log("Building the web app (once; later starts reuse the build until the sources change)…");
    const stamp = sourceStamp();
    const result = spawnSync(process.execPath, [nextBin, "build"], {
      cwd: webDir,
      stdio: ["ignore", "inherit", "inherit"],
      env: { ...process.env, NEXT_TELEMETRY_DISABLED: "1" },
    });
    if (result.status !== 0) throw new Error("The web app failed to build (see the output above)");
    fs.writeFileSync(stampFile, `${stamp}\n`);
  } finally {
    fs.rmSync(buildLock, { force: true });
  }
}

async function waitForHealth(url: string, child: ChildProcess, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`The web server exited with code ${child.exitCode}`);
    try {
      const res = await fetch(`${url}/api/health`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`The web server did not answer ${url}/api/health within ${timeoutMs / 1000} s`);
}

export interface WebServer {
  url: string;
  port: number;
  child: ChildProcess;
  /** The web server's process id (the benchmark reads its memory). */
  pid: number;
  /** The exit code (1 when killed by a signal). */
  exited: Promise<number>;
  /** SIGTERM, then SIGKILL past `killAfterMs` (default 5 s); resolves with the exit code. */
  stop(killAfterMs?: number): Promise<number>;
}

/**
 * Starts one web server process (apps/web/server.mjs) on an already built app and a migrated
 * database, and waits until it answers. Several may run on one database (see docs/deploy.md).
 */
export async function startWebServer(opts: {
  config: Config;
  databaseUrl: string;
  /** Overrides config.port. */
  port?: number;
  /** Extra variables for the process (SHUTDOWN_DELAY_MS, METRICS_TOKEN, ...). */
  env?: Record<string, string>;
  output?: "inherit" | "ignore" | number;
}): Promise<WebServer> {
  const { config } = opts;
  const port = opts.port ?? config.port;
  const url = `http://localhost:${port}`;
  const child = spawn(process.execPath, [path.join(webDir, "server.mjs"), String(port)], {
    cwd: webDir,
    stdio: ["ignore", opts.output ?? "inherit", opts.output ?? "inherit"],
    env: {
      ...process.env,
      NODE_ENV: "production",
      NEXT_TELEMETRY_DISABLED: "1",
      DATABASE_URL: opts.databaseUrl,
      AUTH_SECRET: config.authSecret,
      NEXTAUTH_URL: config.nextAuthUrl ?? url,
      PORT: String(port),
      MAX_BULK_DELETE: String(config.maxBulkDelete),
      RATE_LIMIT_WRITES_PER_MINUTE: String(config.rateLimit.writesPerMinute),
      RATE_LIMIT_READS_PER_MINUTE: String(config.rateLimit.readsPerMinute),
      TRUST_PROXY: trustProxySetting(config.trustProxy),
      REDIS_URL: config.redisUrl ?? "",
      REDIS_KEY_PREFIX: config.redisKeyPrefix,
      METRICS_TOKEN: config.metricsToken ?? "",
      // On unless turned off for PostgreSQL (behind an old PgBouncer); the embedded database's
      // server shares prepared statements between its clients (packages/db/src/embedded.ts).
      DATABASE_PREPARED_STATEMENTS:
        config.database.kind === "postgres" && config.database.preparedStatements === false ? "off" : "on",
      ...opts.env,
    },
  });
  const exited = new Promise<number>((resolve) =>
    child.once("exit", (code, signal) => resolve(code ?? (signal ? 1 : 0))),
  );
  try {
    await waitForHealth(url, child);
  } catch (err) {
    child.kill("SIGTERM");
    throw err;
  }
  return {
    url,
    port,
    child,
    pid: child.pid as number,
    exited,
    async stop(killAfterMs = 5000) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), killAfterMs);
        const code = await exited;
        clearTimeout(timer);
        return code;
      }
      return exited;
    },
  };
}

export async function startRoster(opts: StartOptions): Promise<RosterServer> {
  const { config } = opts;
  const log = opts.log ?? ((line: string) => console.error(line));
  const db = await openOwned(config, log);
  try {
    const databaseUrl = db.url as string;
    const { applied } = await applyMigrations({ kind: "postgres", url: databaseUrl });
    if (applied.length) log(`Applied ${applied.length} migration(s): ${applied.join(", ")}`);
    const seed = config.nodeEnv !== "production" && (opts.seedIfEmpty ?? true);
    if (seed && (await isEmpty(db.prisma))) {
      await seedDemoData(db.prisma);
      log("Seeded the demo data (organizations acme and globex)");
    }
    const target = await describeSeedTarget(db.prisma);
    if (target.organizations === 0) log(FIRST_ADMIN_HINT);
    await ensureBuild(log);
    const web = await startWebServer({ config, databaseUrl, output: opts.serverOutput });
    let stopping: Promise<void> | undefined;
    return {
      ...web,
      db,
      databaseUrl,
      demoData: target.state === "demo",
      stop() {
        stopping ??= (async () => {
          await web.stop();
          await db.close();
        })();
        return stopping;
      },
    };
  } catch (err) {
    await db.close();
    throw err;
  }
}
