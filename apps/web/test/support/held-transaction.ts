// A transaction of the test's own on the run's database, held open while requests are sent past
// it, and a second connection that watches who waits for its locks: inside a transaction
// pg_stat_activity is a snapshot taken at its first read, so a session the server opens after
// that would never be seen from the held connection itself. Used by the locking and race tests
// (PostgreSQL only: the embedded database serves a single session).
import pg from "pg";
import { inject } from "vitest";

/** How long `waiters` polls before it gives up (600 polls, 25 ms apart). */
const POLLS = 600;

export class HeldTransaction {
  private constructor(
    private readonly client: pg.Client,
    private readonly watcher: pg.Client,
    readonly pid: number,
  ) {}

  static async begin(): Promise<HeldTransaction> {
    const client = new pg.Client({ connectionString: inject("databaseUrl") });
    const watcher = new pg.Client({ connectionString: inject("databaseUrl") });
    await Promise.all([client.connect(), watcher.connect()]);
    const { rows } = await client.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
    await client.query("BEGIN");
    return new HeldTransaction(client, watcher, rows[0]?.pid as number);
  }

  /** A statement inside the held transaction. */
  query(sql: string, params: unknown[] = []) {
    return this.client.query(sql, params);
  }

  /**
   * The sessions waiting on this transaction's locks, once at least `want` do (or an empty list
   * after the polls run out): those waiting on it directly, and with `queued` also those queued
   * behind a waiter (a second request for a row lock waits on the first, not on the holder).
   */
  async waiters(opts: { want?: number; queued?: boolean } = {}): Promise<number[]> {
    const want = opts.want ?? 1;
    const sql = opts.queued
      ? `WITH RECURSIVE waiting(pid) AS (
           SELECT pid FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))
           UNION
           SELECT a.pid FROM pg_stat_activity a JOIN waiting w ON w.pid = ANY(pg_blocking_pids(a.pid))
         )
         SELECT pid FROM waiting`
      : "SELECT pid FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))";
    let pids: number[] = [];
    for (let i = 0; i < POLLS; i++) {
      const { rows } = await this.watcher.query<{ pid: number }>(sql, [this.pid]);
      pids = rows.map((r) => r.pid);
      if (pids.length >= want) return pids;
      await new Promise((r) => setTimeout(r, 25));
    }
    return pids;
  }

  /** Ends the transaction and closes both connections. */
  async end(how: "COMMIT" | "ROLLBACK"): Promise<void> {
    try {
      await this.client.query(how);
    } finally {
      await Promise.all([this.client.end(), this.watcher.end()]);
    }
  }

  /** Terminates another session (one seen in `waiters`), as a crash of it would end it. */
  async terminate(pid: number): Promise<void> {
    await this.watcher.query("SELECT pg_terminate_backend($1)", [pid]);
  }
}
