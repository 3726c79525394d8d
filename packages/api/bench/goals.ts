// The bench's verdicts: each goal Roster is held to, per database, from what the run measured,
// with whether it was met. Pure: the rows in, the verdicts out (tested in test/bench-goals.test.ts).
import type { ListRow } from "./list";
import type { ListStreamRow } from "./list-stream";
import { HEALTH, type SoakRow, type ThroughputRow } from "./load";
import type { RemovalRow } from "./removals";
import type { RestoreRow } from "./restore";

export interface BenchResults {
  removals: RemovalRow[];
  restore: RestoreRow[];
  throughput: ThroughputRow[];
  list: ListRow[];
  listStream: ListStreamRow[];
  soak: SoakRow[];
}

export interface Verdict {
  database: string;
  goal: string;
  measured: string;
  /** "not judged" when the run was too short to say (a soak shorter than the goal's). */
  met: "yes" | "no" | "not judged";
}

/** The goals' limits (issues 8, 12 and 14). */
export const GOALS = {
  /** A removal through REST or tRPC against the same SQL sent raw. */
  removalRatio: { 1: 2, 1000: 1.3 } as Record<number, number>,
  /** 1-id removals at 16 connections, as a share of /api/health's rate. */
  throughputShare: 0.5,
  searchMs: 50,
  firstPageMs: 20,
  /** The whole REST listing, per 100,000 members. */
  listingSecondsPer100k: 2,
  /** Restoring a batch against removing it: "about what removing them costs". */
  restoreOverRemove: 1.25,
  /** The server's RSS over the soak's last quarter: flat, within this share. */
  soakLastQuarterGrowth: 0.02,
  /**
   * The soak the memory goal speaks of. A shorter one (the bench's default, to stay within its
   * 3 minutes) ends while V8 is still growing its heap to its working size: printed, not judged.
   */
  soakRequests: 10_000,
} as const;

const verdict = (database: string, goal: string, measured: string, met: boolean): Verdict => ({
  database,
  goal,
  measured,
  met: met ? "yes" : "no",
});

/** Every goal the run measured, in the order of the summary, database by database. */
export function verdicts(results: BenchResults): Verdict[] {
  const out: Verdict[] = [];
  const databases = [
    ...new Set(
      [results.removals, results.restore, results.throughput, results.list, results.listStream, results.soak].flatMap(
        (rows) => rows.map((r: { database: string }) => r.database),
      ),
    ),
  ];
  for (const db of databases) {
    for (const row of results.removals.filter((r) => r.database === db)) {
      const limit = GOALS.removalRatio[row.ids];
      if (limit === undefined) continue;
      for (const [via, ms, ratio] of [
        ["REST", row.restMs, row.restRatio],
        ["tRPC", row.trpcMs, row.trpcRatio],
      ] as const) {
        out.push(
          verdict(
            db,
            `${row.ids} id${row.ids === 1 ? "" : "s"} through ${via} at most ${limit}x the raw SQL`,
            `${ms} vs ${row.rawMs} ms: ${ratio}x`,
            ratio <= limit,
          ),
        );
      }
    }
    const loads = results.throughput.filter((r) => r.database === db);
    const health = loads.find((r) => r.operation === HEALTH);
    const removal = loads.find((r) => r.operation !== HEALTH);
    if (health && removal) {
      const share = removal.perSecond / health.perSecond;
      out.push(
        verdict(
          db,
          `1-id removals at 16 connections at least ${GOALS.throughputShare * 100}% of /api/health`,
          `${removal.perSecond}/s vs ${health.perSecond}/s: ${(share * 100).toFixed(1)}%`,
          share >= GOALS.throughputShare,
        ),
      );
    }
    const list = results.list.filter((r) => r.database === db);
    const searches = list.filter((r) => r.operation.startsWith("search"));
    const pages = list.filter((r) => r.operation.startsWith("first page"));
    if (searches.length > 0) {
      const worst = Math.max(...searches.map((r) => r.medianMs));
      out.push(verdict(db, `search under ${GOALS.searchMs} ms`, `at most ${worst} ms`, worst < GOALS.searchMs));
    }
    if (pages.length > 0) {
      const worst = Math.max(...pages.map((r) => r.medianMs));
      out.push(
        verdict(
          db,
          `first page of the list under ${GOALS.firstPageMs} ms`,
          `at most ${worst} ms`,
          worst < GOALS.firstPageMs,
        ),
      );
    }
    const listings = results.listStream.filter((r) => r.database === db);
    if (listings.length > 0) {
      const worst = listings.reduce((a, b) => (b.medianS > a.medianS ? b : a));
      const limit = (GOALS.listingSecondsPer100k * worst.members) / 100_000;
      out.push(
        verdict(
          db,
          `the whole REST listing of ${worst.members} members under ${limit} s`,
          `at most ${worst.medianS} s (${worst.encoding})`,
          worst.medianS < limit,
        ),
      );
    }
    for (const row of results.restore.filter((r) => r.database === db)) {
      out.push(
        verdict(
          db,
          `restoring ${row.ids} about what removing them costs (at most ${GOALS.restoreOverRemove}x), ${row.via}`,
          `${row.restoreMs} vs ${row.removeMs} ms: ${row.restoreOverRemove}x`,
          row.restoreOverRemove <= GOALS.restoreOverRemove,
        ),
      );
    }
    for (const row of results.soak.filter((r) => r.database === db)) {
      const quarters = row.rssQuartersMb.split("/").map((q) => Number(q.trim()));
      const third = quarters[quarters.length - 2];
      const last = quarters[quarters.length - 1];
      if (third === undefined || last === undefined || quarters.some(Number.isNaN)) continue;
      const growth = (last - third) / third;
      const judged = verdict(
        db,
        `server memory flat over ${GOALS.soakRequests} removals (RSS over the last quarter within ${GOALS.soakLastQuarterGrowth * 100}%)`,
        `${third} → ${last} MB (${growth >= 0 ? "+" : ""}${(growth * 100).toFixed(1)}%)`,
        growth <= GOALS.soakLastQuarterGrowth,
      );
      if (row.requests >= GOALS.soakRequests) out.push(judged);
      else {
        out.push({
          ...judged,
          measured: `${judged.measured} over ${row.requests} (BENCH_SOAK=${GOALS.soakRequests} to judge)`,
          met: "not judged",
        });
      }
    }
  }
  return out;
}
