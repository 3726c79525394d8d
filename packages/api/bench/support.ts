// What the benchmark sections share: the running app and its database, timing helpers, and a
// fast way to add members (set-based SQL: the benchmark needs 100,000 of them in seconds).
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import type { DemoManifest } from "@roster/contract";
import { type Db, openDb } from "@roster/db";
import { applyMigrations } from "@roster/db/migrate";
import { seedDemoData } from "@roster/db/seed";
import pg from "pg";
import { buildManifest } from "../src/services/demo-manifest";

export interface BenchContext {
  /** "embedded" or "postgresql". */
  database: string;
  /** The running web app. */
  baseUrl: string;
  /** The web server's process id. */
  serverPid: number;
  /** The database the app uses (the embedded one's loopback port when embedded). */
  databaseUrl: string;
  prisma: Db;
  /** The server's AUTH_SECRET. */
  secret: string;
  /** The server's METRICS_TOKEN, when it serves /api/metrics. */
  metricsToken?: string;
  /** One connection of the benchmark's own, for setup and the raw-SQL baseline. */
  sql: pg.Client;
  manifest: DemoManifest;
  orgId: string;
  /** The admin of that organization who makes every request. */
  admin: { token: string; membershipId: string };
}

export function median(samples: number[]): number {
  const s = [...samples].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
}

export function quantile(samples: number[], q: number): number {
  const s = [...samples].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? Number.NaN;
}

export const round = (n: number, digits = 1) => Math.round(n * 10 ** digits) / 10 ** digits;

/** One keep-alive pool for the bench's HTTP requests (16 connections under load, one in turn otherwise). */
const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });

export interface HttpAnswer {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
}

/**
 * An HTTP request through Node's own client on a keep-alive connection, the body read whole. A
 * lean client, as `pg` is for the raw-SQL baseline: undici's fetch spends about 4 ms of its own per
 * request on this machine (measured against this client, same server, same requests), which would
 * be counted against the server.
 */
export function send(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<HttpAnswer> {
  const headers = { ...opts.headers };
  if (opts.body !== undefined) headers["content-length"] = String(Buffer.byteLength(opts.body));
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: opts.method ?? "GET", headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("error", reject);
      res.on("end", () =>
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString("utf8") }),
      );
    });
    req.on("error", (err: NodeJS.ErrnoException) => {
      // A kept-alive connection the server closed as idle just as this request went out on it: the
      // server never read the request, so it is sent again on a new connection (as Node's
      // documentation advises for reused sockets).
      if (req.reusedSocket && err.code === "ECONNRESET") send(url, opts).then(resolve, reject);
      else reject(err);
    });
    req.end(opts.body);
  });
}

let batch = 0;

/**
 * Adds `n` accepted plain members to the organization, named so the search has something to
 * find (first names from a short list, last names numbered), each in up to `projects` of its
 * projects with a role row there, as real removals find them. Returns their membership ids.
 */
export async function addMembers(ctx: BenchContext, n: number, projects = 2): Promise<string[]> {
  batch++;
  const tag = `b${batch}x${Date.now().toString(36)}`;
  const { rows } = await ctx.sql.query<{ id: string }>(
    `WITH u AS (
       INSERT INTO users (email, username, first_name, last_name)
       SELECT 'm' || g || '.' || $2 || '@bench.test', 'm' || g || '.' || $2,
              (ARRAY['Ada','Grace','Alan','Edsger','Barbara','Donald','Frances','Ken'])[1 + g % 8],
              'Surname' || g
       FROM generate_series(1, $1::int) g
       RETURNING id
     )
     INSERT INTO org_memberships (org_id, user_id, role, status, is_active)
     SELECT $3::uuid, u.id, 'member', 'accepted', true FROM u
     RETURNING id`,
    [n, tag, ctx.orgId],
  );
  if (projects > 0) {
    await ctx.sql.query(
      `WITH pm AS (
         INSERT INTO project_memberships (project_id, user_id)
         SELECT p.id, m.user_id FROM org_memberships m
         CROSS JOIN LATERAL (SELECT id FROM projects WHERE org_id = $1::uuid ORDER BY id LIMIT $3::int) p
         WHERE m.id = ANY($2::uuid[])
         RETURNING id
       )
       INSERT INTO project_membership_roles (project_membership_id, role) SELECT id, 'member' FROM pm`,
      [ctx.orgId, rows.map((r) => r.id), projects],
    );
  }
  return rows.map((r) => r.id);
}

/** The resident memory of a process, in MB (Linux). */
export function rssMb(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? Number.NaN);
  return Math.round(kb / 1024);
}

/**
 * Runs `fn` on a new database on the PostgreSQL server that DATABASE_URL names (never that
 * database itself), dropped afterwards whatever happens.
 */
export async function withScratchDatabase<T>(prefix: string, fn: (url: string) => Promise<T>): Promise<T> {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error("set DATABASE_URL to a PostgreSQL server");
  const name = `${prefix}_${Date.now()}`;
  const admin = new URL(url);
  admin.pathname = "/postgres";
  const adminClient = new pg.Client({ connectionString: admin.toString() });
  await adminClient.connect();
  try {
    await adminClient.query(`CREATE DATABASE "${name}"`);
    const target = new URL(url);
    target.pathname = `/${name}`;
    try {
      return await fn(target.toString());
    } finally {
      await adminClient.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    }
  } finally {
    await adminClient.end();
  }
}

/**
 * What autovacuum does to a database in service (statistics, dead rows, the GIN indexes' pending
 * lists merged), done at once after the bench's own bulk inserts, so that it neither runs on
 * under a measurement nor leaves its first requests on a table it has not seen (1000-id removals
 * right after adding 27,000 members took 499 ms, then fell to 91 ms as autovacuum caught up).
 */
export async function settle(ctx: Pick<BenchContext, "sql">): Promise<void> {
  await ctx.sql.query("VACUUM ANALYZE");
}

/** A bench's parts before its organization is set up. */
export type BenchBase = Omit<BenchContext, "manifest" | "orgId" | "admin">;

/**
 * Writes the demo data, grows acme to `members` memberships and does what autovacuum does to a
 * database in service (statistics, and the GIN indexes' pending lists merged: straight after a
 * bulk load every search would scan those lists linearly). Acme's admin makes the requests.
 */
export async function prepareBench(
  base: BenchBase,
  members: number,
  log: (line: string) => void = () => {},
): Promise<BenchContext> {
  let t = performance.now();
  const lap = (what: string) => {
    log(`${base.database}: ${what} in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    t = performance.now();
  };
  const manifest = await buildManifest(base.prisma, base.secret, await seedDemoData(base.prisma));
  lap("demo data");
  const acme = manifest.organizations.find((o) => o.slug === "acme");
  const admin = acme?.members.find((m) => m.email === "admin@acme.test");
  if (!acme || !admin?.accessToken) throw new Error("demo data incomplete");
  const ctx: BenchContext = {
    ...base,
    manifest,
    orgId: acme.id,
    admin: { token: admin.accessToken, membershipId: admin.membershipId },
  };
  await addMembers(ctx, Math.max(0, members - acme.members.length), 0);
  lap(`${members} members added`);
  await settle(base);
  lap("settled (VACUUM ANALYZE)");
  return ctx;
}

/**
 * A bench of the services alone (no web app) on a scratch PostgreSQL database: migrated, with an
 * organization of `members` memberships; everything closed and dropped afterwards.
 */
export async function withServiceBench<T>(
  prefix: string,
  members: number,
  fn: (ctx: BenchContext) => Promise<T>,
): Promise<T> {
  return withScratchDatabase(prefix, async (url) => {
    await applyMigrations({ kind: "postgres", url });
    const handle = await openDb({ kind: "postgres", url });
    const sql = new pg.Client({ connectionString: url });
    try {
      await sql.connect();
      const base: BenchBase = {
        database: "postgresql",
        baseUrl: "",
        serverPid: process.pid,
        databaseUrl: url,
        prisma: handle.prisma,
        secret: randomBytes(48).toString("base64url"),
        sql,
      };
      return await fn(await prepareBench(base, members));
    } finally {
      await sql.end().catch(() => {});
      await handle.close();
    }
  });
}
