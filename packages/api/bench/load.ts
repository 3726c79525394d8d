// Throughput under load: 1-id removals in one organization at CONNECTIONS concurrent requests,
// against the app's own /api/health (Next plus one database round trip) in the same run; and a
// soak of many removal requests with the server's memory read before and after.
import { addMembers, type BenchContext, quantile, round, rssMb, send, settle } from "./support";

export const CONNECTIONS = 16;
/** Rounds of each kind in the throughput run (the machine's other work disturbs any one of them). */
const ROUNDS = 3;

interface Load {
  requests: number;
  perSecond: number;
  p50Ms: number;
  p95Ms: number;
}

/** CONNECTIONS workers each sending `send` until `total` requests were sent or `ms` passed. */
async function drive(send: () => Promise<void>, opts: { ms?: number; total?: number }): Promise<Load> {
  const latencies: number[] = [];
  const started = performance.now();
  const deadline = opts.ms ? started + opts.ms : Number.POSITIVE_INFINITY;
  const total = opts.total ?? Number.POSITIVE_INFINITY;
  let next = 0;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (performance.now() < deadline && next < total) {
        next++;
        const t = performance.now();
        await send();
        latencies.push(performance.now() - t);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  return {
    requests: latencies.length,
    perSecond: round(latencies.length / seconds, 0),
    p50Ms: round(quantile(latencies, 0.5)),
    p95Ms: round(quantile(latencies, 0.95)),
  };
}

/** Hands out the ids of a pool of members, each once. */
export function taker(pool: string[]): () => string {
  let next = 0;
  return () => {
    const id = pool[next++];
    if (!id) throw new Error(`the pool of ${pool.length} members ran out`);
    return id;
  };
}

/** Members a throughput run of `ms` per round removes at most (1500 a second, more than any run managed). */
export const throughputPool = (ms: number, rounds = ROUNDS) => Math.ceil((ms / 1000) * rounds * 1500);

function removeOne(ctx: BenchContext, take: () => string) {
  return async () => {
    const id = take();
    const res = await send(`${ctx.baseUrl}/api/v2/organizations/${ctx.orgId}/memberships`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${ctx.admin.token}`, "content-type": "application/json" },
      body: JSON.stringify({ membershipIds: [id] }),
    });
    if (res.status !== 200) throw new Error(`removal answered ${res.status}: ${res.text.slice(0, 300)}`);
  };
}

export async function health(ctx: BenchContext): Promise<void> {
  const res = await send(`${ctx.baseUrl}/api/health`);
  if (res.status !== 200) throw new Error(`/api/health answered ${res.status}`);
}

/** The operation name of the throughput run's baseline. */
export const HEALTH = "GET /api/health";

export interface ThroughputRow {
  database: string;
  operation: string;
  connections: number;
  requests: number;
  perSecond: number;
  p50Ms: number;
  p95Ms: number;
  ofHealth: string;
}

/**
 * Health and removals, each for `ms`, `rounds` times in alternation; the best of each is kept.
 * The members removed come from `take` (a pool added and settled beforehand), else from a pool
 * added here.
 */
export async function benchThroughput(
  ctx: BenchContext,
  ms: number,
  take?: () => string,
  rounds = ROUNDS,
): Promise<ThroughputRow[]> {
  if (!take) {
    take = taker(await addMembers(ctx, throughputPool(ms)));
    await settle(ctx);
  }
  const results: { health: Load[]; removal: Load[] } = { health: [], removal: [] };
  await drive(() => health(ctx), { total: CONNECTIONS * 4 }); // warm
  for (let round = 0; round < rounds; round++) {
    results.health.push(await drive(() => health(ctx), { ms }));
    results.removal.push(await drive(removeOne(ctx, take), { ms }));
  }
  const best = (loads: Load[]) => loads.reduce((a, b) => (b.perSecond > a.perSecond ? b : a));
  const h = best(results.health);
  const r = best(results.removal);
  return [
    { database: ctx.database, operation: HEALTH, connections: CONNECTIONS, ...h, ofHealth: "100%" },
    {
      database: ctx.database,
      operation: "DELETE 1 id (REST)",
      connections: CONNECTIONS,
      ...r,
      ofHealth: `${Math.round((100 * r.perSecond) / h.perSecond)}%`,
    },
  ];
}

export interface SoakRow {
  database: string;
  requests: number;
  perSecond: number;
  rssBeforeMb: number;
  /** The resident memory after each quarter of the requests. */
  rssQuartersMb: string;
  rssAfterMb: number;
  /** The V8 heap in use after each quarter (from /api/metrics), and after the warm-up. */
  heapUsedMb: string;
}

/** Requests before the soak's first reading: V8 grows its heap to its working size over the first thousands. */
export const SOAK_WARM_UP = 1000;

/** The web server's V8 heap in use, in MB, as its own /api/metrics reports it. */
async function heapUsedMb(ctx: BenchContext): Promise<number> {
  if (!ctx.metricsToken) return Number.NaN;
  const res = await send(`${ctx.baseUrl}/api/metrics`, { headers: { authorization: `Bearer ${ctx.metricsToken}` } });
  const bytes = Number(/^nodejs_heap_size_used_bytes (\S+)$/m.exec(res.text)?.[1]);
  return Math.round(bytes / 1048576);
}

/**
 * `total` 1-id removal requests; the server's RSS and V8 heap after a warm-up, after each
 * quarter, and at the end. Memory that only grows with the count (a leak) climbs quarter after
 * quarter; a heap that settles rises in the first quarter and then stays, and the heap in use
 * falls back after each of V8's full collections.
 */
/**
 * Asks the server for a full garbage collection (bench/gc-on-signal.cjs, preloaded by the bench)
 * and gives it time to run: memory read after it is what the server keeps, whenever V8 would
 * otherwise have collected. Without it the heap grew for the 10,000 requests of one run (76 to
 * 181 MB, RSS +12% over the last quarter) and fell back in another, by V8's timing alone; capped at
 * 160 MB of old space, 20,000 requests kept it at 73 to 81 MB.
 */
async function collectGarbage(ctx: BenchContext): Promise<void> {
  process.kill(ctx.serverPid, "SIGUSR2");
  await new Promise((resolve) => setTimeout(resolve, 300));
}

export async function benchSoak(ctx: BenchContext, total: number): Promise<SoakRow> {
  const pool = await addMembers(ctx, total + SOAK_WARM_UP, 0);
  await settle(ctx);
  const take = taker(pool);
  await drive(removeOne(ctx, take), { total: SOAK_WARM_UP });
  await collectGarbage(ctx);
  const before = rssMb(ctx.serverPid);
  const heaps = [await heapUsedMb(ctx)];
  const quarters: number[] = [];
  const quarter = Math.ceil(total / 4);
  let sent = 0;
  const started = performance.now();
  for (let q = 0; q < 4 && sent < total; q++) {
    const n = Math.min(quarter, total - sent);
    const load = await drive(removeOne(ctx, take), { total: n });
    sent += load.requests;
    await collectGarbage(ctx);
    quarters.push(rssMb(ctx.serverPid));
    heaps.push(await heapUsedMb(ctx));
  }
  return {
    database: ctx.database,
    requests: sent,
    perSecond: Math.round(sent / ((performance.now() - started) / 1000)),
    rssBeforeMb: before,
    rssQuartersMb: quarters.join(" / "),
    rssAfterMb: rssMb(ctx.serverPid),
    heapUsedMb: heaps.join(" / "),
  };
}
