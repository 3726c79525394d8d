// What autovacuum does for a PostgreSQL server, done for the embedded database, which has none
// (PGlite runs PostgreSQL as one single-user backend: no autovacuum launcher, no workers). Without
// it a table is never vacuumed or analysed in service: dead rows pile up, the visibility map is
// never set (no index-only scans), the trigram indexes' pending lists are never merged (every
// search scans them, linearly) and the planner keeps the statistics of the day the folder was
// made. The owner of the folder runs `maintainEmbedded` every MAINTENANCE_INTERVAL_MS as an
// ordinary client of its own server, so the work waits its turn in the session queue like any
// other statement, and vacuums or analyses the tables PostgreSQL's own autovacuum would, by its
// default thresholds: one table a pass, when the database is idle (see scheduleMaintenance).
import pg from "pg";

/** How often the owner checks its tables (autovacuum_naptime is 60 s). */
export const MAINTENANCE_INTERVAL_MS = 60_000;

/**
 * PostgreSQL's autovacuum defaults: a table is vacuumed once its dead rows pass
 * autovacuum_vacuum_threshold + autovacuum_vacuum_scale_factor × its rows, or the rows inserted
 * since its last vacuum pass the insert threshold and scale factor; analysed once the rows changed
 * since its last analysis pass the analyze threshold and scale factor.
 */
export const AUTOVACUUM = {
  vacuumThreshold: 50,
  vacuumScaleFactor: 0.2,
  insertThreshold: 1000,
  insertScaleFactor: 0.2,
  analyzeThreshold: 50,
  analyzeScaleFactor: 0.1,
} as const;

/**
 * A pass starts only once the database has had no client message for this long (PGlite serves one
 * statement at a time, so a vacuum holds every request back until it ends)...
 */
export const MAINTENANCE_IDLE_MS = 1_000;
/** ...unless this many passes in a row found it busy: a server never idle is maintained all the same. */
export const MAINTENANCE_MAX_DEFERRALS = 9;

/** What a maintenance pass did to one table, and how long it took. */
export interface MaintenanceAction {
  table: string;
  vacuum: boolean;
  analyze: boolean;
  ms: number;
}

/**
 * The application's tables past autovacuum's thresholds (from the cumulative statistics, flushed
 * first), each then vacuumed, analysed or both, one statement at a time, the furthest past its
 * threshold first, at most `maxTables` of them. Returns what it did.
 */
export async function maintainEmbedded(
  client: pg.Client,
  opts: { maxTables?: number } = {},
): Promise<MaintenanceAction[]> {
  // The single backend flushes its statistics now and then; the reading below must see them all.
  await client.query("SELECT pg_stat_force_next_flush()");
  const a = AUTOVACUUM;
  // How far past each threshold a table is, as a multiple of it (over 1: due).
  const { rows } = await client.query<{ table: string; vacuum: boolean; analyze: boolean; past: number }>(
    `SELECT "table", dead > 1 OR inserted > 1 AS vacuum, changed > 1 AS analyze,
            greatest(dead, inserted, changed)::float8 AS past
       FROM (SELECT s.relname AS "table",
                    s.n_dead_tup / ($1 + $2 * greatest(c.reltuples, 0)) AS dead,
                    s.n_ins_since_vacuum / ($3 + $4 * greatest(c.reltuples, 0)) AS inserted,
                    s.n_mod_since_analyze / ($5 + $6 * greatest(c.reltuples, 0)) AS changed
               FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
              WHERE s.schemaname = 'public') t
      ORDER BY past DESC, "table"`,
    [
      a.vacuumThreshold,
      a.vacuumScaleFactor,
      a.insertThreshold,
      a.insertScaleFactor,
      a.analyzeThreshold,
      a.analyzeScaleFactor,
    ],
  );
  const due = rows.filter((r) => r.vacuum || r.analyze).slice(0, opts.maxTables ?? rows.length);
  const done: MaintenanceAction[] = [];
  for (const { table, vacuum, analyze } of due) {
    const name = client.escapeIdentifier(table);
    const started = performance.now();
    await client.query(vacuum ? `VACUUM (ANALYZE ${analyze ? "true" : "false"}) ${name}` : `ANALYZE ${name}`);
    done.push({ table, vacuum, analyze, ms: Math.round(performance.now() - started) });
  }
  return done;
}

/** What a maintenance pass reports: what it did and how long it took, or why it failed. */
export type MaintenanceReport = (event: { actions: MaintenanceAction[]; ms: number } | { error: Error }) => void;

/**
 * Runs `maintainEmbedded` on the server at `url` every `intervalMs`, one table a pass (the one
 * furthest past its threshold, so no pass holds the database for more than one table's work), on
 * a connection of its own opened for the pass. A pass waits for the database to be idle
 * (`idleMs()`, the time since a client's last message, at least MAINTENANCE_IDLE_MS), unless it
 * has waited MAINTENANCE_MAX_DEFERRALS passes already. `report` hears each pass that did
 * something, and each that failed (a pass cut by the server's closing is not reported). Returns a
 * stop function, whose promise settles once a pass under way has ended.
 */
export function scheduleMaintenance(
  url: string,
  intervalMs: number,
  report: MaintenanceReport,
  idleMs: () => number = () => Number.POSITIVE_INFINITY,
): () => Promise<void> {
  let running: Promise<void> | undefined;
  let stopped = false;
  let deferred = 0;
  const pass = async () => {
    const started = performance.now();
    const client = new pg.Client({ connectionString: url });
    try {
      await client.connect();
      const actions = await maintainEmbedded(client, { maxTables: 1 });
      if (actions.length > 0) report({ actions, ms: Math.round(performance.now() - started) });
    } catch (err) {
      if (!stopped) report({ error: err instanceof Error ? err : new Error(String(err)) });
    } finally {
      await client.end().catch(() => {});
    }
  };
  const timer = setInterval(() => {
    if (running || stopped) return;
    if (idleMs() < MAINTENANCE_IDLE_MS && deferred < MAINTENANCE_MAX_DEFERRALS) {
      deferred++;
      return;
    }
    deferred = 0;
    running = pass().finally(() => {
      running = undefined;
    });
  }, intervalMs);
  timer.unref();
  return async () => {
    stopped = true;
    clearInterval(timer);
    await running;
  };
}
