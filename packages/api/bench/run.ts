// `npm run bench`: speed of the operations Roster is judged by, on a fresh database of each kind
// (the embedded one always; PostgreSQL when DATABASE_URL is set, in a new database dropped after).
// Prints a table; asserts nothing (tests never time things).
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { verifyBearer } from "@roster/api/auth";
import { getConfig } from "@roster/config";
import { type DbHandle, openDb, startEmbeddedServer } from "@roster/db";
import { applyMigrations } from "@roster/db/migrate";
import { seedDemoData } from "@roster/db/seed";
import pg from "pg";
import { bulkDeleteMemberships } from "../src/services/bulk-delete-memberships";
import { buildManifest } from "../src/services/demo-manifest";
import { listMemberships } from "../src/services/list-memberships";
import { benchListStream } from "./list-stream";

interface Row {
  database: string;
  operation: string;
  runs: number;
  medianMs: number;
  p95Ms: number;
  statements: number | string;
}

const rows: Row[] = [];
const SECRET = randomBytes(48).toString("base64url");

function stats(samples: number[]) {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))] as number;
  return { medianMs: Math.round(at(0.5) * 10) / 10, p95Ms: Math.round(at(0.95) * 10) / 10 };
}

async function addMembers(prisma: DbHandle["prisma"], orgId: string, n: number, tag: string): Promise<string[]> {
  const users = await prisma.user.createManyAndReturn({
    data: Array.from({ length: n }, (_, i) => ({
      email: `bench-${tag}-${i}@acme.test`,
      username: `bench-${tag}-${i}`,
    })),
    select: { id: true },
  });
  const projects = await prisma.project.findMany({ where: { orgId }, select: { id: true } });
  const members = await prisma.orgMembership.createManyAndReturn({
    data: users.map((u) => ({ orgId, userId: u.id, role: "member" as const, status: "accepted" as const })),
    select: { id: true },
  });
  await prisma.projectMembership.createMany({
    data: users.flatMap((u) => projects.slice(0, 2).map((p) => ({ projectId: p.id, userId: u.id }))),
  });
  return members.map((m) => m.id);
}

async function benchOn(label: string, url: string): Promise<void> {
  await applyMigrations({ kind: "postgres", url });
  let statements = 0;
  const handle = await openDb({ kind: "postgres", url }, { onQuery: () => statements++ });
  const prisma = handle.prisma;
  try {
    const orgs = await seedDemoData(prisma);
    const manifest = await buildManifest(prisma, SECRET, orgs);
    const acme = manifest.organizations.find((o) => o.slug === "acme");
    const admin = acme?.members.find((m) => m.email === "admin@acme.test");
    if (!acme || !admin?.accessToken) throw new Error("demo data incomplete");
    const authorization = `Bearer ${admin.accessToken}`;
    const caller = await verifyBearer(prisma, authorization, SECRET);

    const verify: number[] = [];
    let verifyStatements = 0;
    for (let i = 0; i < 200; i++) {
      statements = 0;
      const t = performance.now();
      await verifyBearer(prisma, authorization, SECRET);
      verify.push(performance.now() - t);
      verifyStatements = statements;
    }
    rows.push({
      database: label,
      operation: "verify token (checks 1-5)",
      runs: verify.length,
      ...stats(verify),
      statements: verifyStatements,
    });

    for (const size of [1, 100, 1000]) {
      const times: number[] = [];
      let count = 0;
      const runs = size === 1000 ? 5 : 10;
      for (let r = 0; r < runs; r++) {
        const ids = await addMembers(prisma, acme.id, size, `${size}-${r}`);
        statements = 0;
        const t = performance.now();
        await bulkDeleteMemberships(prisma, caller, ids, {
          reqId: `req-bench${String(r).padStart(10, "0")}`,
          ip: null,
          userAgent: "bench",
        });
        times.push(performance.now() - t);
        count = statements;
      }
      rows.push({
        database: label,
        operation: `bulk delete ${size} id${size > 1 ? "s" : ""}`,
        runs,
        ...stats(times),
        statements: count,
      });
    }

    await addMembers(prisma, acme.id, 5000, "list");
    const list: number[] = [];
    let listStatements = 0;
    for (let i = 0; i < 20; i++) {
      statements = 0;
      const t = performance.now();
      await listMemberships(prisma, acme.id, {
        limit: 50,
        sortBy: i % 2 ? "name" : "projectCount",
        sortDir: "asc",
        search: i % 3 ? "user" : undefined,
      });
      list.push(performance.now() - t);
      listStatements = statements;
    }
    rows.push({
      database: label,
      operation: "list page of 50 (5,220 members)",
      runs: list.length,
      ...stats(list),
      statements: listStatements,
    });

    // The whole REST listing of 100,000 members over HTTP, streamed (prints its own line).
    await benchListStream({ database: label, url, secret: SECRET });
  } finally {
    await handle.close();
  }
}

async function main(): Promise<void> {
  const rssBefore = process.memoryUsage().rss;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "roster-bench-"));
  const embedded = await startEmbeddedServer(path.join(dir, "pglite"));
  try {
    await benchOn("embedded", embedded.url);
  } finally {
    await embedded.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const database = getConfig().database;
  if (database.kind === "postgres") {
    const name = `roster_bench_${Date.now()}`;
    const admin = new URL(database.url);
    admin.pathname = "/postgres";
    const run = async (sql: string) => {
      const c = new pg.Client({ connectionString: admin.toString() });
      await c.connect();
      await c.query(sql).finally(() => c.end());
    };
    await run(`CREATE DATABASE "${name}"`);
    const url = new URL(database.url);
    url.pathname = `/${name}`;
    try {
      await benchOn("postgresql", url.toString());
    } finally {
      await run(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    }
  } else {
    console.error("DATABASE_URL is not set: PostgreSQL skipped (set it to bench both databases)");
  }
  console.log("");
  console.table(rows);
  console.log(
    `peak RSS of this process: ${Math.round(process.resourceUsage().maxRSS / 1024)} MB (${Math.round(rssBefore / 1e6)} MB at start)`,
  );
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
