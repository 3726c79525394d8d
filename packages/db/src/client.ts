// The one Prisma client factory. PostgreSQL through `PrismaPg`; the embedded database through
// its owner's loopback port (see embedded.ts), also with `PrismaPg`; a private in-process PGlite
// (tests, throwaway databases) through `PrismaPGlite`.
import { createHash } from "node:crypto";
import type { PGlite } from "@electric-sql/pglite";
import { PrismaPg } from "@prisma/adapter-pg";
import { type DatabaseConfig, getConfig } from "@roster/config";
import pg from "pg";
import { PrismaPGlite } from "pglite-prisma-adapter";
import { type EmbeddedServer, readLock, startEmbeddedServer } from "./embedded";
import { type Prisma, PrismaClient } from "./generated/prisma/client";

export { PrismaClient };
export type Db = PrismaClient;

export type DbTarget = DatabaseConfig | { kind: "pglite"; db: PGlite };

export interface DbHandle {
  prisma: PrismaClient;
  /** The PostgreSQL URL this client talks to (null for a private in-process PGlite). */
  url: string | null;
  /** Set when this process owns the embedded database folder. */
  embedded: EmbeddedServer | null;
  /** The connection pool (null for a private in-process PGlite), for its gauges. */
  pool: pg.Pool | null;
  close(): Promise<void>;
}

export interface ClientOptions {
  /** Pool size for PostgreSQL connections (default 10; the embedded database serialises anyway). */
  poolSize?: number;
  /** Receives every SQL statement Prisma sends, with its prepared statement's name if it has one (used to count statements). */
  onQuery?: (sql: string, name?: string) => void;
}

/** Prisma's own query event, for the in-process PGlite (it does not report a transaction's BEGIN). */
function prismaFor(adapter: PrismaPg | PrismaPGlite, onQuery?: (sql: string, name?: string) => void): PrismaClient {
  if (!onQuery) return new PrismaClient({ adapter });
  const prisma = new PrismaClient({ adapter, log: [{ emit: "event", level: "query" }] });
  prisma.$on("query", (e) => onQuery(e.query));
  return prisma;
}

/**
 * A pg client that reports the text of every statement it sends. Prisma's query event misses
 * the BEGIN that the pg adapter sends itself, so statements are observed here, on the wire side.
 */
function reportingClient(onQuery: (sql: string, name?: string) => void): typeof pg.Client {
  return class ReportingClient extends pg.Client {
    // biome-ignore lint/suspicious/noExplicitAny: pg's query() has many overloads; this only observes them
    override query(...args: any[]): any {
      const q = args[0];
      onQuery(
        typeof q === "string" ? q : (q?.text ?? String(q)),
        typeof q === "object" ? (q?.name ?? undefined) : undefined,
      );
      // biome-ignore lint/suspicious/noExplicitAny: forwarded unchanged
      return (super.query as (...a: any[]) => any)(...args);
    }
  };
}

/**
 * How long a query waits for a connection (a free one from the pool, or a new one from the
 * database) before failing: a database that is down or unreachable then gets a 503 rather than a
 * hang. As long as a removal already waits to start its transaction (its `maxWait`), so a burst
 * queued behind a busy pool is not refused sooner than before.
 */
export const CONNECTION_TIMEOUT_MS = 10_000;
/**
 * How long one statement may run before the client gives up on it (a connection whose server
 * went silent). Client-side, so it also holds through PgBouncer in transaction mode, which
 * refuses a `statement_timeout` start-up parameter; the server-side limit is set on the role
 * (docs/deploy.md). Longer than any statement the service runs, lock waits included.
 */
export const QUERY_TIMEOUT_MS = 30_000;

/**
 * The mark that asks for a statement to be prepared: raw SQL that begins with it is sent as a
 * named prepared statement (where the target allows), so PostgreSQL parses and plans it once per
 * connection rather than on every request. For the statements every request sends, each with one
 * fixed text (the ids travel as one array parameter). A comment, so the SQL means the same without it.
 */
export const PREPARED = "/* prepared */";

/** The most statement names kept (marked statements have fixed texts: a few of them in all). */
const MAX_PREPARED_NAMES = 64;
const preparedNames = new Map<string, string>();

/**
 * The name of a marked statement: its text's hash, the same on every connection and process;
 * undefined for any other statement (sent unnamed, as Prisma does). Past MAX_PREPARED_NAMES
 * distinct texts a statement is sent unnamed rather than grow every connection's set.
 */
export function preparedName(query: { sql: string }): string | undefined {
  if (!query.sql.startsWith(PREPARED)) return undefined;
  let name = preparedNames.get(query.sql);
  if (name === undefined) {
    if (preparedNames.size >= MAX_PREPARED_NAMES) return undefined;
    name = `roster_${createHash("sha256").update(query.sql).digest("hex").slice(0, 24)}`;
    preparedNames.set(query.sql, name);
  }
  return name;
}

/** A PrismaPg adapter on `pool`, naming the marked statements when `prepared`. */
function adapterOn(pool: pg.Pool, prepared: boolean): PrismaPg {
  return new PrismaPg(pool, {
    disposeExternalPool: true,
    // Typed as always naming; the adapter hands the name to pg, which sends a statement whose
    // name is undefined unnamed, as it would without a generator.
    ...(prepared ? { statementNameGenerator: preparedName as (query: { sql: string }) => string } : {}),
  });
}

/**
 * Session settings asked for at connection start-up. JIT compilation off: it pays for long
 * analytic queries, and Roster sends short ones whose estimates (JSON expansions count 100 rows
 * each, say) can still cross `jit_above_cost`: a 1000-id restore spent 33 ms compiling, a 1000-id
 * removal once 885 ms. (PgBouncer drops start-up `options`, see docs/deploy.md: there, set it on
 * the role.)
 */
export const SESSION_OPTIONS = "-c jit=off";

/** The pg pool behind a PrismaPg adapter: connections are bounded in number and in time. */
export function pgPool(url: string, poolSize = 10, onQuery?: (sql: string, name?: string) => void): pg.Pool {
  return new pg.Pool({
    connectionString: url,
    max: poolSize,
    options: SESSION_OPTIONS,
    connectionTimeoutMillis: CONNECTION_TIMEOUT_MS,
    query_timeout: QUERY_TIMEOUT_MS,
    ...(onQuery ? { Client: reportingClient(onQuery) } : {}),
  });
}

export function pgAdapter(
  url: string,
  poolSize = 10,
  onQuery?: (sql: string, name?: string) => void,
  prepared = false,
): PrismaPg {
  return adapterOn(pgPool(url, poolSize, onQuery), prepared);
}

/**
 * The pg pool under each client opened on PostgreSQL or the embedded server, and whether it names
 * marked statements. Process-wide, as the client is (see getDb): Next builds this module once per
 * router into one process, and a client opened by one bundle is used by the others.
 */
const POOLS_KEY = Symbol.for("roster.db.pools");
const poolHolder = globalThis as { [POOLS_KEY]?: WeakMap<PrismaClient, { pool: pg.Pool; prepared: boolean }> };
poolHolder[POOLS_KEY] ??= new WeakMap();
const poolsOf = poolHolder[POOLS_KEY];

/**
 * Rows of one raw statement, sent on the client's own pool past Prisma's query engine: for the
 * few statements every request sends (the session read, the one-statement removal), where the
 * engine's handling of a raw query (building its request, interpreting its plan, mapping each
 * value) cost about as much of the server's CPU as the pg client's whole round trip (0.12 against
 * 0.05 ms a statement, measured in a loop). The values are pg's own: timestamps as Dates, JSON
 * parsed, `int` as numbers (a `bigint` would come back as a string: cast counts to `int`). The
 * same connections, the same prepared-statement names (PREPARED), the same statement counting.
 * Outside any transaction; on a private in-process PGlite (no pool) it is Prisma's `$queryRaw`.
 *
 * With `timestampsAsText`, `timestamptz` values come as PostgreSQL writes them ("2026-11-30 01:24:15.12+00")
 * rather than as Dates: for reads of many rows whose timestamps are only written out again
 * (parsing 400,000 of them into Dates took a third of a 100,000-member listing's reading). The
 * in-process PGlite fallback still answers Dates: a caller takes either.
 */
export async function queryRows<T>(
  db: PrismaClient,
  sql: Prisma.Sql,
  opts: { timestampsAsText?: boolean } = {},
): Promise<T[]> {
  const target = poolsOf.get(db);
  if (!target) return db.$queryRaw<T[]>(sql);
  const text = sql.text;
  const name = target.prepared ? preparedName({ sql: text }) : undefined;
  const result = await target.pool.query<T & pg.QueryResultRow>({
    name,
    text,
    values: sql.values,
    ...(opts.timestampsAsText ? { types: TEXT_TIMESTAMPS } : {}),
  });
  return result.rows;
}

/**
 * pg's parsers, but `timestamptz` left as PostgreSQL's text (which carries its offset; a
 * `timestamp` without one still comes as a Date, as it would be misread as text).
 */
const TEXT_TIMESTAMPS: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: "text" | "binary") =>
    oid === pg.types.builtins.TIMESTAMPTZ
      ? (value: string) => value
      : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig["getTypeParser"],
};

/** Opens a Prisma client on the target; for an embedded folder nobody serves yet, this process becomes its owner. */
export async function openDb(target: DbTarget = getConfig().database, opts: ClientOptions = {}): Promise<DbHandle> {
  if (target.kind === "pglite") {
    const prisma = prismaFor(new PrismaPGlite(target.db), opts.onQuery);
    return { prisma, url: null, embedded: null, pool: null, close: () => prisma.$disconnect() };
  }
  let url: string;
  let embedded: EmbeddedServer | null = null;
  // Only where asked for on PostgreSQL (not behind an old PgBouncer in transaction mode); always
  // on the embedded database, whose server shares prepared statements between its clients.
  let prepared = true;
  if (target.kind === "postgres") {
    url = target.url;
    prepared = target.preparedStatements ?? false;
  } else {
    const lock = readLock(target.dir);
    if (lock?.url) {
      url = lock.url;
    } else {
      embedded = await startEmbeddedServer(target.dir);
      url = embedded.url;
    }
  }
  const pool = pgPool(url, opts.poolSize, opts.onQuery);
  const prisma = new PrismaClient({ adapter: adapterOn(pool, prepared) });
  poolsOf.set(prisma, { pool, prepared });
  return {
    prisma,
    url,
    embedded,
    pool,
    async close() {
      await prisma.$disconnect();
      await embedded?.close();
    },
  };
}

const GLOBAL_KEY = Symbol.for("roster.db");
const POOL_KEY = Symbol.for("roster.db.pool");
type GlobalWithDb = typeof globalThis & { [GLOBAL_KEY]?: Promise<DbHandle>; [POOL_KEY]?: pg.Pool | null };

/**
 * The process-wide client (the server holds one instance). Kept on globalThis so every bundle
 * of this module in one process (Next.js compiles server code separately) shares it.
 */
export function getDb(): Promise<PrismaClient> {
  const g = globalThis as GlobalWithDb;
  g[GLOBAL_KEY] ??= openDb().then((h) => {
    g[POOL_KEY] = h.pool;
    return h;
  });
  return g[GLOBAL_KEY].then((h) => h.prisma);
}

export interface PoolStats {
  /** Connections checked out by a query or transaction. */
  inUse: number;
  idle: number;
  /** Requests queued for a connection. */
  waiting: number;
}

/** The process-wide pool's counts, or null before it is opened (or on a private PGlite). */
export function poolStats(): PoolStats | null {
  const pool = (globalThis as GlobalWithDb)[POOL_KEY];
  if (!pool) return null;
  return { inUse: pool.totalCount - pool.idleCount, idle: pool.idleCount, waiting: pool.waitingCount };
}
