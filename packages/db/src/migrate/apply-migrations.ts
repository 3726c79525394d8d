// Applies pending migrations the way `prisma migrate deploy` records them, so Prisma's own tooling
// (`prisma migrate status`, on a machine that has the native engine) agrees with this runner.
import { randomUUID } from "node:crypto";
import type { PGliteInterface } from "@electric-sql/pglite";
import pg from "pg";
import {
  checksumMatches,
  defaultMigrationsDir,
  MigrationError,
  type MigrationFile,
  readMigrations,
} from "./migrations-folder";

export type MigrationTarget = { kind: "postgres"; url: string } | { kind: "pglite"; db: PGliteInterface };

export interface ApplyMigrationsOptions {
  /** Defaults to prisma/migrations. */
  migrationsDir?: string;
  /** Called after each migration commits. */
  onApplied?: (name: string) => void;
  /** PostgreSQL only: how long to wait for another process's migration run. Default 60 s. */
  lockTimeoutMs?: number;
}

// The key Prisma's schema engine uses, so this runner and `prisma migrate` exclude each other too.
const ADVISORY_LOCK_KEY = 72707369;

// The DDL Prisma's schema engine runs on PostgreSQL, unchanged.
const CREATE_MIGRATIONS_TABLE = `CREATE TABLE _prisma_migrations (
    id                      VARCHAR(36) PRIMARY KEY NOT NULL,
    checksum                VARCHAR(64) NOT NULL,
    finished_at             TIMESTAMPTZ,
    migration_name          VARCHAR(255) NOT NULL,
    logs                    TEXT,
    rolled_back_at          TIMESTAMPTZ,
    started_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    applied_steps_count     INTEGER NOT NULL DEFAULT 0
);`;

// Each migration runs in its own transaction, so now() is when it started.
const RECORD_MIGRATION = `INSERT INTO _prisma_migrations
  (id, checksum, finished_at, migration_name, logs, rolled_back_at, started_at, applied_steps_count)
  VALUES ($1, $2, clock_timestamp(), $3, NULL, NULL, now(), 1)`;

interface Session {
  exec(sql: string): Promise<void>;
  query<T>(sql: string, params?: unknown[]): Promise<T[]>;
  transaction(fn: (s: Session) => Promise<void>): Promise<void>;
}

interface HistoryRow {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
  started_at: Date;
}

export async function applyMigrations(
  target: MigrationTarget,
  opts: ApplyMigrationsOptions = {},
): Promise<{ applied: string[] }> {
  const migrations = readMigrations(opts.migrationsDir ?? defaultMigrationsDir());
  const run = (s: Session) => applyPending(s, migrations, opts.onApplied);
  return target.kind === "pglite" ? run(pgliteSession(target.db)) : withPostgres(target.url, opts.lockTimeoutMs, run);
}

async function applyPending(
  s: Session,
  migrations: MigrationFile[],
  onApplied?: (name: string) => void,
): Promise<{ applied: string[] }> {
  const [{ exists } = { exists: false }] = await s.query<{ exists: boolean }>(
    "SELECT to_regclass('_prisma_migrations') IS NOT NULL AS exists",
  );
  if (!exists) await s.exec(CREATE_MIGRATIONS_TABLE);
  const history = await s.query<HistoryRow>(
    "SELECT migration_name, checksum, finished_at, rolled_back_at, started_at FROM _prisma_migrations ORDER BY started_at",
  );

  const failed = history.find((r) => r.finished_at === null && r.rolled_back_at === null);
  if (failed) {
    throw new MigrationError(
      `Migration ${failed.migration_name} failed (started ${failed.started_at.toISOString()}) and is still recorded as failed in _prisma_migrations: repair the database, then mark it rolled back (set rolled_back_at) before migrating again`,
    );
  }
  const applied = new Map(
    history.filter((r) => r.finished_at !== null && r.rolled_back_at === null).map((r) => [r.migration_name, r]),
  );
  for (const m of migrations) {
    const row = applied.get(m.name);
    if (row && !checksumMatches(m.sql, row.checksum)) {
      throw new MigrationError(
        `Migration ${m.name} was modified after it was applied (file checksum ${m.checksum}, recorded ${row.checksum}): restore prisma/migrations/${m.name}/migration.sql and put the change in a new migration`,
      );
    }
  }

  const done: string[] = [];
  for (const m of migrations.filter((m) => !applied.has(m.name))) {
    try {
      await s.transaction(async (tx) => {
        await tx.exec(m.sql);
        await tx.query(RECORD_MIGRATION, [randomUUID(), m.checksum, m.name]);
      });
    } catch (err) {
      throw new MigrationError(
        `Migration ${m.name} failed and was rolled back: ${err instanceof Error ? err.message : String(err)}`,
        { cause: err },
      );
    }
    done.push(m.name);
    onApplied?.(m.name);
  }
  return { applied: done };
}

function pgliteSession(db: PGliteInterface): Session {
  const session = (q: Pick<PGliteInterface, "exec" | "query">): Session => ({
    exec: async (sql) => {
      await q.exec(sql);
    },
    query: async <T>(sql: string, params?: unknown[]) => (await q.query<T>(sql, params)).rows,
    transaction: async (fn) => {
      await db.transaction((tx) => fn(session(tx)));
    },
  });
  return session(db);
}

function pgSession(client: pg.Client): Session {
  const session: Session = {
    exec: async (sql) => {
      await client.query(sql);
    },
    query: async <T>(sql: string, params?: unknown[]) => (await client.query(sql, params)).rows as T[],
    transaction: async (fn) => {
      await client.query("BEGIN");
      try {
        await fn(session);
        await client.query("COMMIT");
      } catch (err) {
        await client.query("ROLLBACK").catch(() => {});
        throw err;
      }
    },
  };
  return session;
}

async function withPostgres<T>(url: string, lockTimeoutMs = 60_000, fn: (s: Session) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  // Without a listener an 'error' event (server restart mid-run) would crash the process.
  client.on("error", () => {});
  await client.connect();
  try {
    await client.query(`SET lock_timeout = ${Math.max(1, Math.floor(lockTimeoutMs))}`);
    try {
      await client.query(`SELECT pg_advisory_lock(${ADVISORY_LOCK_KEY})`);
    } catch (err) {
      if ((err as { code?: string }).code !== "55P03") throw err;
      throw new MigrationError(
        `Another process kept the migration lock (PostgreSQL advisory lock ${ADVISORY_LOCK_KEY}) for more than ${lockTimeoutMs} ms; try again when it has finished`,
      );
    }
    await client.query("RESET lock_timeout");
    return await fn(pgSession(client));
  } finally {
    // Ending the session releases the advisory lock.
    await client.end();
  }
}
