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
import { CONNECTIONS, health } from "./load";
import { viaRest, viaTrpc } from "./removals";
import { addMembers, type BenchContext, median, prepareBench, round, send, withScratchDatabase } from "./support";

const REQUESTS = Number(process.env.BENCH_CPU_REQUESTS ?? 300);
const MEMBERS = Number(process.env.BENCH_MEMBERS ?? 20_000);
const WARM_UP = 200;
const LOAD_MS = Number(process.env.BENCH_LOAD_MS ?? 3000);

/**
 * User and system CPU, in ms, from a /proc stat file: a process's (every thread) or one thread's
 * (`/proc/<pid>/task/<tid>/stat`). The fields after the command name (which may hold spaces)
 * start at field 3; utime and stime are fields 14 and 15, in ticks of 10 ms.
 */
function statCpuMs(file: string): number {
  const stat = fs.readFileSync(file, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

/** Every PostgreSQL server process on this machine (the bench's database is the only busy one), in ms. */
function postgresCpuMs(): number {
  let ms = 0;
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (fs.readFileSync(`/proc/${entry}/comm`, "utf8").trim() !== "postgres") continue;
      ms += statCpuMs(`/proc/${entry}/stat`);
    } catch {
      // The process ended while it was read.
    }
  }
  return ms;
}

/** The CPU counters read around a run of requests, in ms. */
interface Counters {
  mainThread: number;
  process: number;
  postgres: number;
  bench: number;
}

function counters(pid: number, postgres: boolean): Counters {
  const self = process.cpuUsage();
  return {
    mainThread: statCpuMs(`/proc/${pid}/task/${pid}/stat`),
    process: statCpuMs(`/proc/${pid}/stat`),
    postgres: postgres ? postgresCpuMs() : 0,
    bench: (self.user + self.system) / 1000,
  };
}

/** Each counter's CPU per request over `n` requests (a PostgreSQL process that ended meanwhile takes its time with it: never below 0). */
function perRequest(before: Counters, after: Counters, n: number, postgres: boolean) {
  const per = (key: keyof Counters) => round(Math.max(0, after[key] - before[key]) / n, 2);
  return {
    mainThreadCpuMs: per("mainThread"),
    processCpuMs: per("process"),
    ...(postgres ? { postgresCpuMs: per("postgres") } : {}),
    benchCpuMs: per("bench"),
  };
}

interface Kind {
  name: string;
  /** Sends one request and checks its answer. */
  send: () => Promise<void>;
}

function kinds(ctx: BenchContext, pool: string[]): Kind[] {
  const members = `${ctx.baseUrl}/api/v2/organizations/${ctx.orgId}/memberships`;
  const refused = (want: number, headers: Record<string, string>, body: string) => async () => {
    const res = await send(members, { method: "DELETE", headers, body });
    if (res.status !== want) throw new Error(`expected ${want}, got ${res.status}: ${res.text.slice(0, 200)}`);
  };
  let next = 0;
  const take = () => {
    const id = pool[next++];
    if (!id) throw new Error("the pool of members ran out");
    return [id];
  };
  const json = { "content-type": "application/json" };
  return [
    { name: "GET /api/health", send: () => health(ctx) },
    { name: "DELETE without a token (401)", send: refused(401, json, "{}") },
    {
      name: "DELETE, a body the schema refuses (422)",
      send: refused(422, { authorization: `Bearer ${ctx.admin.token}`, ...json }, '{"membershipIds":"x"}'),
    },
    { name: "DELETE 1 id (200)", send: () => viaRest(ctx, take()) },
    { name: "tRPC 1 id (200)", send: () => viaTrpc(ctx, take()) },
  ];
}

/** Starts the server on `databaseUrl` (the embedded database when undefined) and measures each kind. */
async function measure(databaseUrl: string | undefined): Promise<void> {
  const secret = randomBytes(48).toString("base64url");
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "roster-cpu-"));
  const postgres = databaseUrl !== undefined;
  const config = loadConfig({
    ...process.env,
    DATABASE_URL: databaseUrl,
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
        database: postgres ? "postgresql" : "embedded",
        baseUrl: server.url,
        serverPid: server.pid,
        databaseUrl: server.databaseUrl,
        prisma: server.db.prisma,
        secret,
        sql,
      },
      MEMBERS,
    );
    const pool = await addMembers(ctx, WARM_UP * 2 + REQUESTS * 2 + Math.ceil(LOAD_MS / 1000) * 1500, 2);
    // BENCH_CPU_KINDS=<text>,<text>: only the kinds whose names contain one of them.
    const only = process.env.BENCH_CPU_KINDS?.split(",");
    const all = kinds(ctx, pool).filter((k) => !only || only.some((o) => k.name.includes(o)));
    // Warm each kind (V8 optimises the server's hot code after some hundred requests).
    for (let i = 0; i < WARM_UP; i++) for (const k of all) await k.send();

    const rows = [];
    for (const k of all) {
      const latencies: number[] = [];
      const before = counters(server.pid, postgres);
      for (let i = 0; i < REQUESTS; i++) {
        const t = performance.now();
        await k.send();
        latencies.push(performance.now() - t);
      }
      const { benchCpuMs: _, ...cpu } = perRequest(before, counters(server.pid, postgres), REQUESTS, postgres);
      rows.push({ request: k.name, medianMs: round(median(latencies), 2), ...cpu });
    }
    console.log(`\nServer CPU per request (${ctx.database}, ${REQUESTS} requests per kind, one at a time)`);
    console.table(rows);

    // The same under load: CONNECTIONS requests at a time, for LOAD_MS per kind.
    const loaded = [];
    for (const k of all.filter((k) => k.name === "GET /api/health" || k.name === "DELETE 1 id (200)")) {
      const before = counters(server.pid, postgres);
      const started = performance.now();
      let sent = 0;
      await Promise.all(
        Array.from({ length: CONNECTIONS }, async () => {
          while (performance.now() - started < LOAD_MS) {
            sent++;
            await k.send();
          }
        }),
      );
      const seconds = (performance.now() - started) / 1000;
      loaded.push({
        request: k.name,
        perSecond: round(sent / seconds, 0),
        ...perRequest(before, counters(server.pid, postgres), sent, postgres),
      });
    }
    console.log(`\nUnder load (${CONNECTIONS} connections, ${LOAD_MS} ms per kind): CPU per request`);
    console.table(loaded);
  } finally {
    await sql.end();
    await server.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  await ensureBuild();
  const profileDir = process.env.BENCH_CPU_PROFILE;
  if (profileDir) {
    fs.mkdirSync(profileDir, { recursive: true });
    process.env.NODE_OPTIONS = `--require ${path.join(import.meta.dirname, "cpu-profile.cjs")}`;
    process.env.ROSTER_CPU_PROFILE_DIR = path.resolve(profileDir);
  }
  if (process.env.DATABASE_URL) await withScratchDatabase("roster_cpu", measure);
  else await measure(undefined);
}

await main();
