// What autovacuum does for a PostgreSQL server, done for the embedded database, which has none
// (PGlite runs PostgreSQL as one single-user backend: no autovacuum launcher, no workers). Without
// it a table is never vacuumed or analysed in service: dead rows pile up, the visibility map is
// never set (no index-only scans), the trigram indexes' pending lists are never merged (every
// search scans them, linearly) and the planner keeps the statistics of the day the folder was
// made. The owner of the folder runs `maintainEmbedded` every MAINTENANCE_INTERVAL_MS as an
// ordinary client of its own server, so the work waits its turn in the session queue like any
// other statement, and vacuums or analyses the tables PostgreSQL's own autovacuum would, by its
// default thresholds.
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

/** What a maintenance pass did to one table. */
export interface MaintenanceAction {
  table: string;
  vacuum: boolean;
  analyze: boolean;
}

/**
 * The application's tables past autovacuum's thresholds (from the cumulative statistics, flushed
 * first), each then vacuumed, analysed or both, one statement at a time. Returns what it did.
 */
export async function maintainEmbedded(client: pg.Client): Promise<MaintenanceAction[]> {
  // The single backend flushes its statistics now and then; the reading below must see them all.
  await client.query("SELECT pg_stat_force_next_flush()");
  const a = AUTOVACUUM;
  const { rows } = await client.query<MaintenanceAction>(
    `SELECT s.relname AS "table",
            s.n_dead_tup > $1 + $2 * greatest(c.reltuples, 0)
              OR s.n_ins_since_vacuum > $3 + $4 * greatest(c.reltuples, 0) AS vacuum,
            s.n_mod_since_analyze > $5 + $6 * greatest(c.reltuples, 0) AS analyze
       FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
      WHERE s.schemaname = 'public'
      ORDER BY s.relname`,
    [
      a.vacuumThreshold,
      a.vacuumScaleFactor,
      a.insertThreshold,
      a.insertScaleFactor,
      a.analyzeThreshold,
      a.analyzeScaleFactor,
    ],
  );
  const due = rows.filter((r) => r.vacuum || r.analyze);
  for (const { table, vacuum, analyze } of due) {
    const name = client.escapeIdentifier(table);
    await client.query(vacuum ? `VACUUM (ANALYZE ${analyze ? "true" : "false"}) ${name}` : `ANALYZE ${name}`);
  }
  return due;
}

/** What a maintenance pass reports: what it did and how long it took, or why it failed. */
export type MaintenanceReport = (event: { actions: MaintenanceAction[]; ms: number } | { error: Error }) => void;

/**
 * Runs `maintainEmbedded` on the server at `url` every `intervalMs` (one pass at a time, on a
 * connection of its own opened for the pass). `report` hears each pass that did something, and
 * each that failed (a pass cut by the server's closing is not reported). Returns a stop function,
 * whose promise settles once a pass under way has ended.
 */
export function scheduleMaintenance(url: string, intervalMs: number, report: MaintenanceReport): () => Promise<void> {
  let running: Promise<void> | undefined;
  let stopped = false;
  const pass = async () => {
    const started = performance.now();
    const client = new pg.Client({ connectionString: url });
    try {
      await client.connect();
      const actions = await maintainEmbedded(client);
      if (actions.length > 0) report({ actions, ms: Math.round(performance.now() - started) });
    } catch (err) {
      if (!stopped) report({ error: err instanceof Error ? err : new Error(String(err)) });
    } finally {
      await client.end().catch(() => {});
    }
  };
  const timer = setInterval(() => {
    if (running || stopped) return;
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
