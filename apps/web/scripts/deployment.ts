// A production-like deployment on this machine: N web server processes on one database (the app
// built already), behind HAProxy (round robin, health checked on /api/health/ready), reaching
// PostgreSQL either directly or through PgBouncer in transaction pooling mode. Every part runs
// from a config file in a temp folder, on a free port, and is stopped by its pid. The
// multi-instance tests and the bench both start it; docs/deploy.md shows the same topology.
import { type ChildProcess, spawn } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import type { Config } from "@roster/config";
import { freePort } from "@roster/config/net";
import pg from "pg";
import { sleep, stopChild, waitForPort } from "./processes";
import { startWebServer, type WebServer } from "./server";

export type DbRoute = "direct" | "pgbouncer";

export const HAPROXY = "/usr/sbin/haproxy";
export const PGBOUNCER = "/usr/sbin/pgbouncer";
/** The response header HAProxy adds: the name of the instance that answered (web1, web2). */
export const SERVED_BY = "x-roster-backend";

export function isExecutable(file: string): boolean {
  try {
    fs.accessSync(file, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
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

export function haproxyCfg(opts: {
  port: number;
  servers: { name: string; port: number }[];
  /** A Unix socket for HAProxy's runtime API (a server taken out of rotation and back: Deployment.setServerState). */
  adminSocket?: string;
}): string {
  return [
    "global",
    "  maxconn 1000",
    ...(opts.adminSocket ? [`  stats socket ${opts.adminSocket} mode 600 level admin`] : []),
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
  /** The instances, web1, web2, ..., each reachable directly too. */
  instances: WebServer[];
  /** The database URL the instances use (PgBouncer's in that mode). */
  instanceDatabaseUrl: string;
  dir: string;
  /** PgBouncer's transactions so far on the run's database (pgbouncer mode only). */
  pooledTransactions(): Promise<number>;
  /**
   * Takes an instance out of HAProxy's rotation ("maint": no new request reaches it) or puts it
   * back ("ready", resolved once HAProxy has seen every instance ready again), through HAProxy's
   * runtime API.
   */
  setServerState(name: string, state: "maint" | "ready"): Promise<void>;
  stop(): Promise<void>;
}

export interface DeploymentOptions {
  route: DbRoute;
  /** The database every instance uses (through PgBouncer in that mode). */
  databaseUrl: string;
  /** The instances' settings (their port and database are set here). */
  config: Config;
  /** Where each part writes its log (deploy-<route>-<part>.log). */
  logDir: string;
  /** How many instances (web1, web2, ...); 2 by default. */
  instances?: number;
  /** Extra environment for every instance. */
  env?: Record<string, string>;
}

/**
 * Starts PgBouncer (in that mode), the instances and HAProxy, and returns once HAProxy has seen
 * every instance ready.
 */
export async function startDeployment(opts: DeploymentOptions): Promise<Deployment> {
  const { route, databaseUrl, config, env = {} } = opts;
  const artifacts = opts.logDir;
  const count = opts.instances ?? 2;
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

    const ports: number[] = [];
    for (let i = 0; i < count; i++) ports.push(await freePort());
    const lbPort = await freePort();
    const cfg = path.join(dir, "haproxy.cfg");
    const adminSocket = path.join(dir, "haproxy.sock");
    fs.writeFileSync(
      cfg,
      haproxyCfg({ port: lbPort, servers: ports.map((port, i) => ({ name: `web${i + 1}`, port })), adminSocket }),
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
        startWebServer({
          config,
          databaseUrl: instanceDatabaseUrl,
          port,
          // PgBouncer 1.18 in transaction mode does not carry a connection's prepared statements
          // from one transaction to the next (docs/deploy.md).
          env: route === "pgbouncer" ? { DATABASE_PREPARED_STATEMENTS: "off", ...env } : env,
          output: logTo(`web${i + 1}`),
        }),
      ),
    );
    for (const s of started) if (s.status === "fulfilled") instances.push(s.value);
    const failed = started.find((s) => s.status === "rejected");
    if (failed) throw (failed as PromiseRejectedResult).reason;

    haproxy = spawn(HAPROXY, ["-db", "-f", cfg], { stdio: ["ignore", logTo("haproxy"), logTo("haproxy")] });
    await waitForPort(lbPort, haproxy, "HAProxy");
    const url = `http://127.0.0.1:${lbPort}`;
    await waitForAll(url, count);
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
    const setServerState = async (name: string, state: "maint" | "ready") => {
      const answer = await haproxyCommand(adminSocket, `set server web/${name} state ${state}`);
      if (answer.trim() !== "") throw new Error(`HAProxy refused to set ${name} to ${state}: ${answer.trim()}`);
      if (state === "ready") await waitForAll(url, count);
    };
    return { url, route, instances, instanceDatabaseUrl, dir, pooledTransactions, setServerState, stop };
  } catch (err) {
    await stop().catch(() => {});
    throw err;
  }
}

/** One command to HAProxy's runtime API on its Unix socket; its answer (empty when a `set` succeeds). */
function haproxyCommand(socketPath: string, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let answer = "";
    const socket = net.createConnection(socketPath, () => socket.end(`${command}\n`));
    socket.setEncoding("utf8");
    socket.setTimeout(5_000, () => socket.destroy(new Error(`HAProxy did not answer "${command}" within 5 s`)));
    socket.on("data", (d: string) => {
      answer += d;
    });
    socket.on("error", reject);
    socket.on("close", () => resolve(answer));
  });
}

/** Polls the load balancer until each of the `count` instances has answered through it. */
export async function waitForAll(url: string, count = 2, timeoutMs = 20_000): Promise<void> {
  const seen = new Set<string>();
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${url}/api/health/ready`);
      await res.arrayBuffer();
      const by = res.headers.get(SERVED_BY);
      if (res.ok && by) seen.add(by);
      if (seen.size === count) return;
    } catch {
      // not ready yet
    }
    await sleep(100);
  }
  throw new Error(
    `HAProxy did not reach all ${count} instances within ${timeoutMs / 1000} s (saw ${[...seen].join(", ")})`,
  );
}
