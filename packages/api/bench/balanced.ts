// 1-id removal throughput through the load balancer: HAProxy in front of one instance, then two,
// then two reaching PostgreSQL through PgBouncer (transaction pooling), each against /api/health
// through the same load balancer in the same run (the deployment of apps/web/scripts/deployment.ts,
// on the bench's database). PostgreSQL only: the embedded database serves one process.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { loadConfig } from "@roster/config";
import { type DbRoute, HAPROXY, isExecutable, PGBOUNCER, startDeployment } from "../../../apps/web/scripts/deployment";
import { benchThroughput, type ThroughputRow, taker, throughputPool } from "./load";
import { addMembers, type BenchContext, settle } from "./support";

/**
 * Two deployments of two instances each, one reaching PostgreSQL directly, one through PgBouncer.
 * The direct one is measured first with its second instance out of HAProxy's rotation (one
 * instance), then with both: one start fewer than a deployment per setup.
 */
const ROUTES: DbRoute[] = ["direct", "pgbouncer"];
const INSTANCES = 2;
/** Rounds per measurement: two, not the throughput section's three (three measurements here, none a goal). */
const ROUNDS = 2;

/** Null when the deployment can run here, else why not. */
export function balancedUnavailable(): string | null {
  const missing = [HAPROXY, PGBOUNCER].filter((bin) => !isExecutable(bin));
  return missing.length > 0 ? `needs ${missing.join(" and ")} (apt-get install haproxy pgbouncer)` : null;
}

export async function benchBalanced(
  ctx: BenchContext,
  ms: number,
  env: Record<string, string>,
): Promise<ThroughputRow[]> {
  const logDir = fs.mkdtempSync(path.join(os.tmpdir(), "roster-bench-lb-"));
  const rows: ThroughputRow[] = [];
  // The members of all three measurements, added and settled once.
  const take = taker(await addMembers(ctx, 3 * throughputPool(ms, ROUNDS)));
  await settle(ctx);
  const measure = async (url: string, label: string) =>
    rows.push(...(await benchThroughput({ ...ctx, baseUrl: url, database: label }, ms, take, ROUNDS)));
  try {
    for (const route of ROUTES) {
      const config = loadConfig({
        ...env,
        NODE_ENV: "production",
        DATABASE_URL: ctx.databaseUrl,
        AUTH_SECRET: ctx.secret,
      });
      const deployment = await startDeployment({
        route,
        databaseUrl: ctx.databaseUrl,
        config,
        logDir,
        instances: INSTANCES,
      });
      try {
        if (route === "direct") {
          await deployment.setServerState("web2", "maint");
          await measure(deployment.url, "HAProxy, 1 instance");
          await deployment.setServerState("web2", "ready");
          await measure(deployment.url, "HAProxy, 2 instances");
        } else {
          await measure(deployment.url, "HAProxy, 2 instances, PgBouncer");
        }
      } finally {
        await deployment.stop();
      }
    }
  } finally {
    fs.rmSync(logDir, { recursive: true, force: true });
  }
  return rows;
}
