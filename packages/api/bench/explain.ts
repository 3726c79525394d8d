// EXPLAIN ANALYZE of each statement of a 1000-id removal (and of the two reads of checks 3 and 5)
// in an organization of BENCH_MEMBERS members, on PostgreSQL, inside a transaction rolled back
// after. The figures in docs/performance.md come from here.
//   DATABASE_URL=postgresql://... npx tsx packages/api/bench/explain.ts
import { randomBytes } from "node:crypto";
import type { DemoManifest } from "@roster/contract";
import { openDb } from "@roster/db";
import { applyMigrations } from "@roster/db/migrate";
import { seedDemoData } from "@roster/db/seed";
import pg from "pg";
import { verifyBearer } from "../src/auth/caller";
import {
  membershipsStatement,
  removalStatement,
  type TargetRow,
  toTargets,
} from "../src/services/bulk-delete-memberships";
import { buildManifest } from "../src/services/demo-manifest";
import { addMembers, type BenchContext, withScratchDatabase } from "./support";

const MEMBERS = Number(process.env.BENCH_MEMBERS ?? 100_000);
const IDS = 1000;

async function main(): Promise<void> {
  await withScratchDatabase("roster_explain", async (url) => {
    const secret = randomBytes(48).toString("base64url");
    const handle = await openDb({ kind: "postgres", url });
    const sql = new pg.Client({ connectionString: url });
    try {
      await applyMigrations({ kind: "postgres", url: url });
      const manifest: DemoManifest = await buildManifest(handle.prisma, secret, await seedDemoData(handle.prisma));
      const acme = manifest.organizations.find((o) => o.slug === "acme");
      const adminMember = acme?.members.find((m) => m.email === "admin@acme.test");
      if (!acme || !adminMember?.accessToken) throw new Error("demo data incomplete");
      await sql.connect();
      const ctx = { sql, orgId: acme.id } as BenchContext;
      await addMembers(ctx, MEMBERS - acme.members.length, 0);
      const ids = await addMembers(ctx, IDS, 2);
      await sql.query("VACUUM ANALYZE");
      const caller = await verifyBearer(handle.prisma, `Bearer ${adminMember.accessToken}`, secret);

      const explain = async (label: string, text: string, values: unknown[]) => {
        const { rows } = await sql.query<{ "QUERY PLAN": string }>(`EXPLAIN (ANALYZE, BUFFERS) ${text}`, values);
        console.log(`\n=== ${label}\n${rows.map((r) => r["QUERY PLAN"]).join("\n")}`);
      };
      const claims = JSON.parse(Buffer.from(adminMember.accessToken.split(".")[1] ?? "", "base64url").toString()) as {
        tokenVersionId: string;
        userId: string;
      };
      for (let pass = 0; pass < 2; pass++) {
        // The first pass warms the caches; the second is the one to read.
        console.log(`\n##### pass ${pass + 1} (${pass === 0 ? "cold" : "warm"})`);
        await explain(
          "check 3: the session",
          `SELECT s.user_id, s.access_version, s.revoked_at, s.expires_at, s.last_used_at, u.email, u.is_locked
         FROM auth_sessions s JOIN users u ON u.id = s.user_id WHERE s.id = $1::uuid`,
          [claims.tokenVersionId],
        );
        await explain(
          "check 5: the caller's membership",
          `SELECT m.id, m.role, m.role_id, m.is_active, r.permissions FROM org_memberships m
         LEFT JOIN org_roles r ON r.id = m.role_id
         WHERE m.org_id = $1::uuid AND m.user_id = $2::uuid AND m.status = 'accepted' LIMIT 1`,
          [acme.id, claims.userId],
        );
        await sql.query("BEGIN");
        const read = membershipsStatement(acme.id, ids, caller.membership.id, true);
        await explain(`the locking read, ${IDS} ids`, read.text, read.values);
        const { rows } = await sql.query<TargetRow>(read.text, read.values);
        const targets = toTargets(rows).filter((t) => t.id !== caller.membership.id);
        const write = removalStatement(caller, targets, {
          reqId: "req-explain0000000",
          ip: null,
          userAgent: "explain",
        });
        await explain(`the writing statement, ${IDS} ids`, write.text, write.values);
        await sql.query("ROLLBACK");
      }
    } finally {
      await sql.end().catch(() => {});
      await handle.close();
    }
  });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
