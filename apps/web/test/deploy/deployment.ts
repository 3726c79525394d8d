// The deployment of scripts/deployment.ts on the test run's database and build, for the
// multi-instance tests; and whether this machine can run it.
import { loadConfig } from "@roster/config";
import { inject } from "vitest";
import {
  type DbRoute,
  type Deployment,
  HAPROXY,
  isExecutable,
  PGBOUNCER,
  startDeployment as start,
} from "../../scripts/deployment";

export { type DbRoute, type Deployment, SERVED_BY, waitForAll } from "../../scripts/deployment";

/**
 * Why the deployment cannot run here, or null when it can. Without PostgreSQL it is skipped;
 * a missing binary skips it too, except under CI=true, where the caller must fail instead.
 */
export function unavailable(): { reason: string; failInCi: boolean } | null {
  if (inject("databaseKind") !== "postgres") {
    return { reason: "needs PostgreSQL (DATABASE_URL): the embedded database serves one process", failInCi: false };
  }
  const missing = [HAPROXY, PGBOUNCER].filter((bin) => !isExecutable(bin));
  if (missing.length > 0) {
    return { reason: `needs ${missing.join(" and ")} (apt-get install haproxy pgbouncer)`, failInCi: true };
  }
  return null;
}

/** Two instances on the run's database behind HAProxy; `env` goes to both. */
export function startDeployment(route: DbRoute, env: Record<string, string> = {}): Promise<Deployment> {
  const databaseUrl = inject("databaseUrl");
  const config = loadConfig({ NODE_ENV: "test", DATABASE_URL: databaseUrl, AUTH_SECRET: process.env.AUTH_SECRET });
  return start({ route, databaseUrl, config, logDir: inject("artifactsDir"), env });
}
