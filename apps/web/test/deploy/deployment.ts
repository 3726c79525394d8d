// A production-like deployment on this machine, for the multi-instance tests: two web server
// processes on the run's database (the app built once by the global setup), behind HAProxy
// (round robin, health checked on /api/health/ready), reaching PostgreSQL either directly or
// through PgBouncer in transaction pooling mode. Every part runs from a config file in a temp
// folder, on a free port, and is stopped by its pid. See docs/deploy.md for the same topology.
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { loadConfig } from "@roster/config";
import pg from "pg";
import { inject } from "vitest";
import { startWebServer, type WebServer } from "../../scripts/server";

export type DbRoute = "direct" | "pgbouncer";

export const HAPROXY = "/usr/sbin/haproxy";
export const PGBOUNCER = "/usr/sbin/pgbouncer";
/** The response header HAProxy adds: the name of the instance that answered (web1, web2). */
export const SERVED_BY = "x-roster-backend";

/**
 * Why the deployment cannot run here, or null when it can. Without PostgreSQL it is skipped;
 * a missing binary skips it too, except under CI=true, where the caller must fail instead.
 */
export function unavailable(): { reason: string; failInCi: boolean } | null {
  if (inject("databaseKind") !== "postgres") {
    return { reason: "needs PostgreSQL (DATABASE_URL): the embedded database serves one process", failInCi: false };
  }
  const missing = [HAPROXY, PGBOUNCER].filter((bin) => !isExecutable(bin));
  if (missing.length > 0) {
    return { reason: `needs ${missing.join(" and ")} (apt-get install haproxy pgbouncer)`, failInCi: true };
  }
  return null;
}

function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

async function waitForPort(port: number, child: ChildProcess, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`${what} exited with code ${child.exitCode} (see its log)`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, "127.0.0.1");
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (open) return;
    await sleep(100);
  }
  throw new Error(`${what} did not listen on port ${port} within ${timeoutMs / 1000} s`);
}

/** SIGTERM to one process we started, SIGKILL if it lingers. */
async function stopChild(child: ChildProcess, killAfterMs = 5000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), killAfterMs);
  await exited;
  clearTimeout(timer);
}

/** The PgBouncer settings the deployment needs (docs/deploy.md explains each). */
export function pgbouncerIni(opts: { port: number; dir: string; upstream: URL }): string {
  return [
    "[databases]",
    `* = host=${opts.upstream.hostname} port=${opts.upstream.port || "5432"}`,
    "",
    "[pgbouncer]",
    "listen_addr = 127.0.0.1",
    `listen_port = ${opts.port}`,
    "unix_socket_dir =",
    "auth_type = trust",
    // The tests read SHOW STATS on the admin console to see the traffic went through PgBouncer.
    "stats_users = postgres",
    `auth_file = ${path.join(opts.dir, "userlist.txt")}`,
    "pool_mode = transaction",
    "max_client_conn = 500",
    // Two instances with a pool of 10 each, plus the tests' own client.
    "default_pool_size = 25",
    "max_db_connections = 40",
    // What pg and psql may send at start-up that PgBouncer does not track itself.
    "ignore_startup_parameters = extra_float_digits,options",
    "",
  ].join("\n");
}

export function haproxyCfg(opts: { port: number; servers: { name: string; port: number }[] }): string {
  return [
    "global",
    "  maxconn 1000",
    "",
    "defaults",
    "  mode http",
    "  timeout connect 2s",
    "  timeout client 90s",
    "  timeout server 90s",
    // A connection refused (an instance stopping or stopped) is retried on the other one.
    "  retries 2",
    "  option redispatch",
    "",
    "frontend roster",
    `  bind 127.0.0.1:${opts.port}`,
    "  default_backend web",
    "",
    "backend web",
    "  balance roundrobin",
    "  option httpchk GET /api/health/ready",
    "  http-check expect status 200",
    "  default-server inter 500ms fall 2 rise 1",
    `  http-response set-header ${SERVED_BY} %[srv_name]`,
    ...opts.servers.map((s) => `  server ${s.name} 127.0.0.1:${s.port} check`),
    "",
  ].join("\n");
}

export interface Deployment {
  /** The load balancer's URL. */
  url: string;
  route: DbRoute;
  /** The instances, web1 and web2, each reachable directly too. */
  instances: WebServer[];
  /** The database URL the instances use (PgBouncer's in that mode). */
  instanceDatabaseUrl: string;
  dir: string;
  /** PgBouncer's transactions so far on the run's database (pgbouncer mode only). */
  pooledTransactions(): Promise<number>;
  stop(): Promise<void>;
}

/**
 * Starts PgBouncer (in that mode), the two instances and HAProxy, and returns once HAProxy has
 * seen both instances ready. `env` goes to both instances.
 */
export async function startDeployment(route: DbRoute, env: Record<string, string> = {}): Promise<Deployment> {
  const databaseUrl = inject("databaseUrl");
  const artifacts = inject("artifactsDir");
  const config = loadConfig({ NODE_ENV: "test", DATABASE_URL: databaseUrl, AUTH_SECRET: process.env.AUTH_SECRET });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `roster-deploy-${route}-`));
  // PgBouncer refuses to run as root; it then runs as postgres and must read this folder.
  fs.chmodSync(dir, 0o755);
  let haproxy: ChildProcess | undefined;
  let pgbouncer: ChildProcess | undefined;
  const instances: WebServer[] = [];
  const fds: number[] = [];
  const logTo = (name: string) => {
    const fd = fs.openSync(path.join(artifacts, `deploy-${route}-${name}.log`), "w");
    fds.push(fd);
    return fd;
  };
  const stop = async () => {
    // The load balancer first, then the instances (they drain), then the pooler.
    if (haproxy) await stopChild(haproxy);
    await Promise.all(instances.map((i) => i.stop()));
    if (pgbouncer) await stopChild(pgbouncer);
    for (const fd of fds.splice(0)) fs.closeSync(fd);
    fs.rmSync(dir, { recursive: true, force: true });
  };

  try {
    let instanceDatabaseUrl = databaseUrl;
    let bouncerPort = 0;
    if (route === "pgbouncer") {
      const port = await freePort();
      fs.writeFileSync(path.join(dir, "pgbouncer.ini"), pgbouncerIni({ port, dir, upstream: new URL(databaseUrl) }));
      fs.writeFileSync(path.join(dir, "userlist.txt"), '"postgres" ""\n');
      const asRoot = process.getuid?.() === 0;
      pgbouncer = spawn(PGBOUNCER, [...(asRoot ? ["-u", "postgres"] : []), path.join(dir, "pgbouncer.ini")], {
        stdio: ["ignore", logTo("pgbouncer"), logTo("pgbouncer")],
      });
      await waitForPort(port, pgbouncer, "PgBouncer");
      bouncerPort = port;
      const url = new URL(databaseUrl);
      url.hostname = "127.0.0.1";
      url.port = String(port);
      instanceDatabaseUrl = url.toString();
    }

    const ports = [await freePort(), await freePort()];
    const lbPort = await freePort();
    const cfg = path.join(dir, "haproxy.cfg");
    fs.writeFileSync(
      cfg,
      haproxyCfg({ port: lbPort, servers: ports.map((port, i) => ({ name: `web${i + 1}`, port })) }),
    );
    // Validate the file first: a mistake in it is then named at once.
    const check = spawn(HAPROXY, ["-c", "-q", "-f", cfg], { stdio: ["ignore", "ignore", "pipe"] });
    let checkErr = "";
    check.stderr?.on("data", (d) => {
      checkErr += String(d);
    });
    const checkCode = await new Promise<number>((resolve) => check.once("exit", (code) => resolve(code ?? 1)));
    if (checkCode !== 0) throw new Error(`haproxy refused its config: ${checkErr}`);

    // Both instances start at once (the build is shared: it was made by the global setup).
    const started = await Promise.allSettled(
      ports.map((port, i) =>
        startWebServer({ config, databaseUrl: instanceDatabaseUrl, port, env, output: logTo(`web${i + 1}`) }),
      ),
    );
    for (const s of started) if (s.status === "fulfilled") instances.push(s.value);
    const failed = started.find((s) => s.status === "rejected");
    if (failed) throw (failed as PromiseRejectedResult).reason;

    haproxy = spawn(HAPROXY, ["-db", "-f", cfg], { stdio: ["ignore", logTo("haproxy"), logTo("haproxy")] });
    await waitForPort(lbPort, haproxy, "HAProxy");
    const url = `http://127.0.0.1:${lbPort}`;
    await waitForBoth(url);
    const dbName = new URL(databaseUrl).pathname.slice(1);
    const pooledTransactions = async () => {
      if (!bouncerPort) throw new Error("no PgBouncer in this deployment");
      // The admin console speaks the simple query protocol only: pg uses it for a query without parameters.
      const client = new pg.Client({ host: "127.0.0.1", port: bouncerPort, user: "postgres", database: "pgbouncer" });
      await client.connect();
      try {
        const { rows } = await client.query("SHOW STATS");
        const row = rows.find((r: { database: string }) => r.database === dbName);
        return Number(row?.total_xact_count ?? 0);
      } finally {
        await client.end();
      }
    };
    return { url, route, instances, instanceDatabaseUrl, dir, pooledTransactions, stop };
  } catch (err) {
    await stop().catch(() => {});
    throw err;
  }
}

/** Polls the load balancer until both instances have answered through it. */
export async function waitForBoth(url: string, timeoutMs = 20_000): Promise<void> {
  const seen = new Set<string>();
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${url}/api/health/ready`);
      await res.arrayBuffer();
      const by = res.headers.get(SERVED_BY);
      if (res.ok && by) seen.add(by);
      if (seen.size === 2) return;
    } catch {
      // not ready yet
    }
    await sleep(100);
  }
  throw new Error(`HAProxy did not reach both instances within ${timeoutMs / 1000} s (saw ${[...seen].join(", ")})`);
}
