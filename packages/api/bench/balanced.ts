// 1-id removal throughput through the load balancer: HAProxy in front of one instance, then two,
// then two reaching PostgreSQL through PgBouncer (transaction pooling), each against /api/health
// through the same load balancer in the same run (the deployment of apps/web/scripts/deployment.ts,
// on the bench's database). PostgreSQL only: the embedded database serves one process.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { loadConfig } from "@roster/config";
import { type DbRoute, HAPROXY, isExecutable, PGBOUNCER, startDeployment } from "../../../apps/web/scripts/deployment";
import { benchThroughput, type ThroughputRow } from "./load";
import type { BenchContext } from "./support";

const SETUPS: { instances: number; route: DbRoute }[] = [
  { instances: 1, route: "direct" },
  { instances: 2, route: "direct" },
  { instances: 2, route: "pgbouncer" },
];

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
  try {
    for (const { instances, route } of SETUPS) {
      const config = loadConfig({
        ...env,
        NODE_ENV: "production",
        DATABASE_URL: ctx.databaseUrl,
        AUTH_SECRET: ctx.secret,
      });
      const deployment = await startDeployment({ route, databaseUrl: ctx.databaseUrl, config, logDir, instances });
      try {
        const label = `HAProxy, ${instances} instance${instances > 1 ? "s" : ""}${route === "pgbouncer" ? ", PgBouncer" : ""}`;
        rows.push(...(await benchThroughput({ ...ctx, baseUrl: deployment.url, database: label }, ms)));
      } finally {
        await deployment.stop();
      }
    }
  } finally {
    fs.rmSync(logDir, { recursive: true, force: true });
  }
  return rows;
}
