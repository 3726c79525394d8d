// Where the time of a removal request goes in the server process, without Next's routing in
// front: the route module's handler serves a plain Node HTTP server in this process (the REST
// adapter, the tRPC procedure, the service and the database, on PostgreSQL), 1-id and 1000-id
// requests in turn. Run it under the CPU profiler and summarise the profile:
//   DATABASE_URL=postgresql://... node --cpu-prof --cpu-prof-dir=.profiles --import tsx packages/api/bench/profile.ts
//   node --import tsx packages/api/bench/profile.ts --summarise .profiles/<file>.cpuprofile
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import pg from "pg";
import { send } from "./support";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

/** Self time by function and by package, from a .cpuprofile. */
function summarise(file: string): void {
  const profile = JSON.parse(fs.readFileSync(file, "utf8")) as {
    nodes: ProfileNode[];
    samples: number[];
    timeDeltas: number[];
  };
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  for (const [i, id] of profile.samples.entries()) self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const fn = new Map<string, number>();
  const pkg = new Map<string, number>();
  for (const [id, us] of self) {
    const { functionName, url, lineNumber } = byId.get(id)?.callFrame ?? { functionName: "?", url: "", lineNumber: 0 };
    const where = url.replace(/^.*node_modules\//, "").replace(/^file:\/\/.*\/(packages|apps)\//, "$1/");
    const key = `${functionName || "(anonymous)"} ${where}:${lineNumber}`;
    fn.set(key, (fn.get(key) ?? 0) + us);
    const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
    const owner =
      m?.[1] ?? (url.includes("/packages/") ? "roster packages" : url ? "other" : functionName || "(native)");
    pkg.set(owner, (pkg.get(owner) ?? 0) + us);
  }
  const top = (m: Map<string, number>, n: number) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, us]) => ({
        where: k.slice(0, 110),
        ms: Math.round(us / 1000),
        share: `${((100 * us) / total).toFixed(1)}%`,
      }));
  console.log(`total sampled: ${Math.round(total / 1000)} ms`);
  console.table(top(pkg, 15));
  console.table(top(fn, 25));
}

async function run(): Promise<void> {
  const url = process.env.DATABASE_URL;
  if (!url) throw new Error("set DATABASE_URL to a PostgreSQL server");
  const name = `roster_profile_${Date.now()}`;
  const admin = new URL(url);
  admin.pathname = "/postgres";
  const adminClient = new pg.Client({ connectionString: admin.toString() });
  await adminClient.connect();
  await adminClient.query(`CREATE DATABASE "${name}"`);
  const target = new URL(url);
  target.pathname = `/${name}`;
  process.env.DATABASE_URL = target.toString();
  process.env.AUTH_SECRET = randomBytes(48).toString("base64url");
  process.env.LOG_LEVEL = "warn";
  process.env.RATE_LIMIT_WRITES_PER_MINUTE = "1000000";
  try {
    const { applyMigrations } = await import("@roster/db/migrate");
    await applyMigrations({ kind: "postgres", url: target.toString() });
    const { getDb } = await import("@roster/db");
    const { seedDemoData } = await import("@roster/db/seed");
    const { buildManifest } = await import("../src/services/demo-manifest");
    const prisma = await getDb();
    const manifest = await buildManifest(prisma, process.env.AUTH_SECRET, await seedDemoData(prisma));
    const acme = manifest.organizations.find((o) => o.slug === "acme");
    const token = acme?.members.find((m) => m.email === "admin@acme.test")?.accessToken;
    if (!acme || !token) throw new Error("demo data incomplete");
    const { default: route } = await import(
      "../../../apps/web/src/pages/api/v2/organizations/[organizationId]/memberships/index"
    );
    const { handleTrpcRequest } = await import("../src/http/trpc-handler");
    // PROFILE_WAY=trpc: the tRPC endpoint's handler instead of the REST route's.
    const trpc = process.env.PROFILE_WAY === "trpc";
    // The path parameter as Next's API routes hand it over.
    const server = http.createServer((req, res) => {
      if (trpc) void handleTrpcRequest(req, res, { webSession: async () => null });
      else void route(Object.assign(req, { query: { organizationId: acme.id } }), res);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const url = trpc
      ? `${origin}/api/trpc/organizations.bulkDeleteMemberships`
      : `${origin}/api/v2/organizations/${acme.id}/memberships`;
    const sql = new pg.Client({ connectionString: target.toString() });
    // The database is dropped with force on the way out, failure or not.
    sql.on("error", () => {});
    await sql.connect();
    const fresh = async (n: number) =>
      (
        await sql.query<{ id: string }>(
          `WITH u AS (INSERT INTO users (email, username) SELECT 'p' || g || '.' || $2 || '@p.test', 'p' || g || '.' || $2
             FROM generate_series(1, $1::int) g RETURNING id)
           INSERT INTO org_memberships (org_id, user_id, role, status) SELECT $3::uuid, id, 'member', 'accepted' FROM u RETURNING id`,
          [n, randomBytes(4).toString("hex"), acme.id],
        )
      ).rows.map((r) => r.id);
    const call = async (ids: string[]) => {
      const res = await send(url, {
        method: trpc ? "POST" : "DELETE",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: JSON.stringify(trpc ? { organizationId: acme.id, membershipIds: ids } : { membershipIds: ids }),
      });
      if (res.status !== 200) throw new Error(`answered ${res.status}: ${res.text}`);
    };
    for (const [size, runs] of [
      [1, Number(process.env.PROFILE_ONE ?? 300)],
      [1000, Number(process.env.PROFILE_THOUSAND ?? 20)],
    ] as const) {
      if (runs === 0) continue;
      const pool = await fresh(size * runs);
      const t = performance.now();
      const cpu = process.cpuUsage();
      for (let r = 0; r < runs; r++) await call(pool.slice(r * size, (r + 1) * size));
      const used = process.cpuUsage(cpu);
      console.log(
        `${runs} x ${size} id(s): ${((performance.now() - t) / runs).toFixed(1)} ms each, ` +
          `${((used.user + used.system) / 1000 / runs).toFixed(2)} ms of this process's CPU each`,
      );
    }
    await sql.end();
    server.close();
    await prisma.$disconnect();
  } finally {
    await adminClient.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await adminClient.end();
  }
}

const i = process.argv.indexOf("--summarise");
if (i >= 0) summarise(process.argv[i + 1] as string);
else
  run().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
