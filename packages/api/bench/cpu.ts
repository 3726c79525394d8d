// The web server's own CPU per request, by kind of request: what a request costs the one thread
// that serves it (which is what caps throughput), read from /proc before and after a run of
// requests one at a time, with each kind's median latency. The built server on a scratch
// PostgreSQL database (DATABASE_URL) or, without it, the embedded one.
//   DATABASE_URL=postgresql://... npx tsx packages/api/bench/cpu.ts
// BENCH_CPU_REQUESTS per kind (300), BENCH_MEMBERS (20,000), BENCH_LOAD_MS per kind under load (3000),
// BENCH_CPU_KINDS (a comma-separated list of parts of the kinds' names: only those). With BENCH_CPU_PROFILE=<dir> the
// server also runs under Node's CPU profiler and writes its profile there when it stops
// (summarise it with bench/profile.ts --summarise).
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { loadConfig } from "@roster/config";
import { freePort } from "@roster/config/net";
import pg from "pg";
import { ensureBuild, startRoster } from "../../../apps/web/scripts/server";
import { addMembers, type BenchContext, median, prepareBench, round, send } from "./support";

const REQUESTS = Number(process.env.BENCH_CPU_REQUESTS ?? 300);
const MEMBERS = Number(process.env.BENCH_MEMBERS ?? 20_000);
const WARM_UP = 200;
const CONNECTIONS = 16;
const LOAD_MS = Number(process.env.BENCH_LOAD_MS ?? 3000);

/** User and system CPU of a process's main thread, in ms (Linux: /proc/<pid>/task/<pid>/stat). */
function mainThreadCpuMs(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/task/${pid}/stat`, "utf8");
  // Fields after the command name (which may hold spaces) start at field 3; utime and stime are 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1000) / 100;
}

/** Every thread of the process (Node's workers, the thread pool, GC helpers), in ms. */
function processCpuMs(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

/** Every PostgreSQL server process on this machine (the bench's database is the only busy one), in ms. */
function postgresCpuMs(): number {
  let ms = 0;
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (fs.readFileSync(`/proc/${entry}/comm`, "utf8").trim() !== "postgres") continue;
      ms += processCpuMs(Number(entry));
    } catch {
      // The process ended while it was read.
    }
  }
  return ms;
}

interface Kind {
  name: string;
  /** Sends request `i` and checks its status. */
  send: (i: number) => Promise<void>;
  /** Members the kind removes per request (fresh ones are added before it runs). */
  removes?: number;
}

function kinds(ctx: BenchContext, pool: string[]): Kind[] {
  const members = `${ctx.baseUrl}/api/v2/organizations/${ctx.orgId}/memberships`;
  const auth = { authorization: `Bearer ${ctx.admin.token}`, "content-type": "application/json" };
  const expect = (want: number) => (res: { status: number; text: string }) => {
    if (res.status !== want) throw new Error(`expected ${want}, got ${res.status}: ${res.text.slice(0, 200)}`);
  };
  let next = 0;
  const take = () => {
    const id = pool[next++];
    if (!id) throw new Error("the pool of members ran out");
    return id;
  };
  return [
    { name: "GET /api/health", send: () => send(`${ctx.baseUrl}/api/health`).then(expect(200)) },
    {
      name: "DELETE without a token (401)",
      send: () =>
        send(members, { method: "DELETE", body: "{}", headers: { "content-type": "application/json" } }).then(
          expect(401),
        ),
    },
    {
      name: "DELETE, a body the schema refuses (422)",
      send: () => send(members, { method: "DELETE", headers: auth, body: '{"membershipIds":"x"}' }).then(expect(422)),
    },
    {
      name: "DELETE 1 id (200)",
      removes: 1,
      send: () =>
        send(members, { method: "DELETE", headers: auth, body: JSON.stringify({ membershipIds: [take()] }) }).then(
          expect(200),
        ),
    },
    {
      name: "tRPC 1 id (200)",
      removes: 1,
      send: () =>
        send(`${ctx.baseUrl}/api/trpc/organizations.bulkDeleteMemberships`, {
          method: "POST",
          headers: auth,
          body: JSON.stringify({ organizationId: ctx.orgId, membershipIds: [take()] }),
        }).then(expect(200)),
    },
  ];
}

async function main(): Promise<void> {
  await ensureBuild();
  const profileDir = process.env.BENCH_CPU_PROFILE;
  if (profileDir) {
    fs.mkdirSync(profileDir, { recursive: true });
    process.env.NODE_OPTIONS = `--require ${path.join(import.meta.dirname, "cpu-profile.cjs")}`;
    process.env.ROSTER_CPU_PROFILE_DIR = path.resolve(profileDir);
  }
  const secret = randomBytes(48).toString("base64url");
  const url = process.env.DATABASE_URL;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "roster-cpu-"));
  const name = `roster_cpu_${Date.now()}`;
  const admin = url ? new URL(url) : null;
  if (admin) admin.pathname = "/postgres";
  const adminSql = async (statement: string) => {
    const c = new pg.Client({ connectionString: admin?.toString() });
    await c.connect();
    await c.query(statement).finally(() => c.end());
  };
  let target: string | undefined;
  if (url) {
    await adminSql(`CREATE DATABASE "${name}"`);
    const t = new URL(url);
    t.pathname = `/${name}`;
    target = t.toString();
  }
  const config = loadConfig({
    ...process.env,
    DATABASE_URL: target,
    PGLITE_DIR: path.join(tmp, "pglite"),
    AUTH_SECRET: secret,
    PORT: String(await freePort()),
    NODE_ENV: "production",
    RATE_LIMIT_WRITES_PER_MINUTE: "1000000",
    RATE_LIMIT_READS_PER_MINUTE: "1000000",
  });
  const server = await startRoster({ config, serverOutput: "ignore", log: console.error });
  delete process.env.NODE_OPTIONS;
  const sql = new pg.Client({ connectionString: server.databaseUrl });
  await sql.connect();
  try {
    const ctx = await prepareBench(
      {
        database: url ? "postgresql" : "embedded",
        baseUrl: server.url,
        serverPid: server.pid,
        databaseUrl: server.databaseUrl,
        prisma: server.db.prisma,
        secret,
        sql,
      },
      MEMBERS,
    );
    const pool = await addMembers(ctx, WARM_UP * 2 + REQUESTS * 2 + (LOAD_MS / 1000) * 1500, 2);
    // BENCH_CPU_KINDS=<text>,<text>: only the kinds whose names contain one of them.
    const only = process.env.BENCH_CPU_KINDS?.split(",");
    const all = kinds(ctx, pool).filter((k) => !only || only.some((o) => k.name.includes(o)));
    // Warm each kind (V8 optimises the server's hot code after some hundred requests).
    for (let i = 0; i < WARM_UP; i++) for (const k of all) await k.send(i);
    const rows = [];
    for (const k of all) {
      const latencies: number[] = [];
      const main0 = mainThreadCpuMs(server.pid);
      const all0 = processCpuMs(server.pid);
      const db0 = url ? postgresCpuMs() : 0;
      for (let i = 0; i < REQUESTS; i++) {
        const t = performance.now();
        await k.send(i);
        latencies.push(performance.now() - t);
      }
      rows.push({
        request: k.name,
        medianMs: round(median(latencies), 2),
        mainThreadCpuMs: round((mainThreadCpuMs(server.pid) - main0) / REQUESTS, 2),
        processCpuMs: round((processCpuMs(server.pid) - all0) / REQUESTS, 2),
        // (A PostgreSQL process that ended meanwhile takes its time with it: never below 0.)
        ...(url ? { postgresCpuMs: round(Math.max(0, postgresCpuMs() - db0) / REQUESTS, 2) } : {}),
      });
    }
    console.log(`\nServer CPU per request (${ctx.database}, ${REQUESTS} requests per kind, one at a time)`);
    console.table(rows);

    // The same under load: CONNECTIONS requests at a time, for LOAD_MS per kind.
    const loaded = [];
    for (const k of all.filter((k) => k.name === "GET /api/health" || k.name === "DELETE 1 id (200)")) {
      const main0 = mainThreadCpuMs(server.pid);
      const all0 = processCpuMs(server.pid);
      const db0 = url ? postgresCpuMs() : 0;
      const self0 = process.cpuUsage();
      const started = performance.now();
      let sent = 0;
      await Promise.all(
        Array.from({ length: CONNECTIONS }, async () => {
          while (performance.now() - started < LOAD_MS) await k.send(sent++);
        }),
      );
      const seconds = (performance.now() - started) / 1000;
      const self = process.cpuUsage(self0);
      loaded.push({
        request: k.name,
        perSecond: round(sent / seconds, 0),
        mainThreadCpuMs: round((mainThreadCpuMs(server.pid) - main0) / sent, 2),
        processCpuMs: round((processCpuMs(server.pid) - all0) / sent, 2),
        ...(url ? { postgresCpuMs: round((postgresCpuMs() - db0) / sent, 2) } : {}),
        benchCpuMs: round((self.user + self.system) / 1000 / sent, 2),
      });
    }
    console.log(`\nUnder load (${CONNECTIONS} connections, ${LOAD_MS} ms per kind): CPU per request`);
    console.table(loaded);
  } finally {
    await sql.end();
    await server.stop();
    if (url) await adminSql(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

await main();
