// Undo at scale: removing 1000 members (each in 2 projects) and restoring them, through the
// services, in an organization of BENCH_MEMBERS members on PostgreSQL (a database of its own,
// dropped after). Each round removes a fresh 1000 and restores them; the medians are printed, so
// that a restore can be compared with the removal it undoes.
//   DATABASE_URL=postgresql://... npx tsx packages/api/bench/restore.ts
//   (BENCH_MEMBERS, default 10000; BENCH_ROUNDS, default 5)
import { randomBytes } from "node:crypto";
import type { DemoManifest } from "@roster/contract";
import { openDb } from "@roster/db";
import { applyMigrations } from "@roster/db/migrate";
import { seedDemoData } from "@roster/db/seed";
import pg from "pg";
import { verifyBearer } from "../src/auth/caller";
import { bulkDeleteMemberships } from "../src/services/bulk-delete-memberships";
import { buildManifest } from "../src/services/demo-manifest";
import { restoreMemberships } from "../src/services/membership-snapshots";
import { addMembers, type BenchContext, median, round, withScratchDatabase } from "./support";

const MEMBERS = Number(process.env.BENCH_MEMBERS ?? 10_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const IDS = 1000;

const reqId = (kind: string, round: number) => `req-${kind}${String(round).padStart(14 - kind.length, "0")}`;

async function main(): Promise<void> {
  await withScratchDatabase("roster_restore_bench", async (url) => {
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
      await addMembers(ctx, Math.max(0, MEMBERS - acme.members.length), 0);
      await sql.query("VACUUM ANALYZE");
      const caller = await verifyBearer(handle.prisma, `Bearer ${adminMember.accessToken}`, secret);

      const removals: number[] = [];
      const restores: number[] = [];
      for (let r = 0; r < ROUNDS; r++) {
        const ids = await addMembers(ctx, IDS, 2);
        const origin = { reqId: reqId("rm", r), ip: null, userAgent: "restore-bench" };
        let t = performance.now();
        await bulkDeleteMemberships(handle.prisma, caller, ids, origin);
        removals.push(performance.now() - t);
        t = performance.now();
        const out = await restoreMemberships(
          handle.prisma,
          caller,
          { batchId: origin.reqId },
          { reqId: reqId("un", r), ip: null, userAgent: "restore-bench" },
        );
        restores.push(performance.now() - t);
        if (out.memberships.length !== IDS) throw new Error(`restored ${out.memberships.length} of ${IDS}`);
      }
      const rm = median(removals);
      const un = median(restores);
      console.log(
        JSON.stringify(
          {
            database: "postgresql",
            members: MEMBERS,
            ids: IDS,
            rounds: ROUNDS,
            removeMs: { median: round(rm), samples: removals.map((x) => round(x)) },
            restoreMs: { median: round(un), samples: restores.map((x) => round(x)) },
            restoreOverRemove: round(un / rm, 2),
          },
          null,
          2,
        ),
      );
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
