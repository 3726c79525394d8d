// The process's Prometheus metrics, served by GET /api/metrics. One registry per process: Next.js
// compiles server code into several bundles, each with its own copy of this module, so the
// registry and its metrics live on globalThis (as the database client and the throttles do) and
// every copy counts into the same ones.
//
// Labels are bounded: a route is its path template or procedure name, never the concrete URL.
import { poolStats } from "@roster/db";
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";

/** Seconds; from a fast read to a 1000-id removal on a busy machine. */
const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

function createMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    requests: new Counter({
      name: "roster_http_requests_total",
      help: "HTTP requests answered, by method, route (path template or tRPC procedure) and status",
      labelNames: ["method", "route", "status"] as const,
      registers: [registry],
    }),
    requestDuration: new Histogram({
      name: "roster_http_request_duration_seconds",
      help: "Time to answer an HTTP request (to the response's headers), by method, route and status",
      labelNames: ["method", "route", "status"] as const,
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    membershipsRemoved: new Counter({
      name: "roster_memberships_removed_total",
      help: "Organization memberships removed (counted after the removal committed)",
      registers: [registry],
    }),
    lockoutRefusals: new Counter({
      name: "roster_lockout_refusals_total",
      help: "Sign-in and Universal Auth attempts refused with 429 by a throttle, by throttle and reason (locked: the key is locked after failures; busy: another attempt held the key's gate; capacity: too many keys tracked)",
      labelNames: ["throttle", "reason"] as const,
      registers: [registry],
    }),
    rateLimitRefusals: new Counter({
      name: "roster_rate_limit_refusals_total",
      help: "Requests refused with 429 by the per-caller rate limit, by budget",
      labelNames: ["budget"] as const,
      registers: [registry],
    }),
    poolInUse: new Gauge({
      name: "roster_db_pool_connections_in_use",
      help: "Database connections checked out by a query or transaction",
      registers: [registry],
      collect() {
        this.set(poolStats()?.inUse ?? 0);
      },
    }),
    poolIdle: new Gauge({
      name: "roster_db_pool_connections_idle",
      help: "Open database connections waiting in the pool",
      registers: [registry],
      collect() {
        this.set(poolStats()?.idle ?? 0);
      },
    }),
    poolWaiting: new Gauge({
      name: "roster_db_pool_waiting_requests",
      help: "Queries waiting for a database connection",
      registers: [registry],
      collect() {
        this.set(poolStats()?.waiting ?? 0);
      },
    }),
  };
}

type Metrics = ReturnType<typeof createMetrics>;
const GLOBAL_KEY = Symbol.for("roster.metrics");
type GlobalWithMetrics = typeof globalThis & { [GLOBAL_KEY]?: Metrics };

/** The process-wide metrics (shared by every bundle of this module in one process). */
export function metrics(): Metrics {
  const g = globalThis as GlobalWithMetrics;
  g[GLOBAL_KEY] ??= createMetrics();
  return g[GLOBAL_KEY];
}

/** Counts one answered request; `durationSeconds` from its start to its response. */
export function observeRequest(method: string, route: string, status: number, durationSeconds: number): void {
  const labels = { method, route, status: String(status) };
  const m = metrics();
  m.requests.inc(labels);
  m.requestDuration.observe(labels, durationSeconds);
}

/** The exposition: its content type and text. */
export async function scrape(): Promise<{ contentType: string; body: string }> {
  const { registry } = metrics();
  return { contentType: registry.contentType, body: await registry.metrics() };
}
