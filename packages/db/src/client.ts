// The one Prisma client factory. PostgreSQL through `PrismaPg`; the embedded database through
// its owner's loopback port (see embedded.ts), also with `PrismaPg`; a private in-process PGlite
// (tests, throwaway databases) through `PrismaPGlite`.
import type { PGlite } from "@electric-sql/pglite";
import { PrismaPg } from "@prisma/adapter-pg";
import { getConfig, type DatabaseConfig } from "@roster/config";
import { PrismaPGlite } from "pglite-prisma-adapter";
import { PrismaClient } from "./generated/prisma/client";
import { type EmbeddedServer, readLock, startEmbeddedServer } from "./embedded";

export { PrismaClient };
export type Db = PrismaClient;

export type DbTarget = DatabaseConfig | { kind: "pglite"; db: PGlite };

export interface DbHandle {
  prisma: PrismaClient;
  /** The PostgreSQL URL this client talks to (null for a private in-process PGlite). */
  url: string | null;
  /** Set when this process owns the embedded database folder. */
  embedded: EmbeddedServer | null;
  close(): Promise<void>;
}

export interface ClientOptions {
  /** Pool size for PostgreSQL connections (default 10; the embedded database serialises anyway). */
  poolSize?: number;
  /** Receives every SQL statement Prisma sends (used to count statements). */
  onQuery?: (sql: string) => void;
}

function prismaFor(adapter: PrismaPg | PrismaPGlite, opts: ClientOptions): PrismaClient {
  if (!opts.onQuery) return new PrismaClient({ adapter });
  const prisma = new PrismaClient({ adapter, log: [{ emit: "event", level: "query" }] });
  const onQuery = opts.onQuery;
  prisma.$on("query", (e) => onQuery(e.query));
  return prisma;
}

export function pgAdapter(url: string, poolSize = 10): PrismaPg {
  return new PrismaPg({ connectionString: url, max: poolSize });
}

/** Opens a Prisma client on the target; for an embedded folder nobody serves yet, this process becomes its owner. */
export async function openDb(target: DbTarget = getConfig().database, opts: ClientOptions = {}): Promise<DbHandle> {
  if (target.kind === "pglite") {
    const prisma = prismaFor(new PrismaPGlite(target.db), opts);
    return { prisma, url: null, embedded: null, close: () => prisma.$disconnect() };
  }
  let url: string;
  let embedded: EmbeddedServer | null = null;
  if (target.kind === "postgres") {
    url = target.url;
  } else {
    const lock = readLock(target.dir);
    if (lock?.url) {
      url = lock.url;
    } else {
      embedded = await startEmbeddedServer(target.dir);
      url = embedded.url;
    }
  }
  const prisma = prismaFor(pgAdapter(url, opts.poolSize), opts);
  return {
    prisma,
    url,
    embedded,
    async close() {
      await prisma.$disconnect();
      await embedded?.close();
    },
  };
}

const GLOBAL_KEY = Symbol.for("roster.db");
type GlobalWithDb = typeof globalThis & { [GLOBAL_KEY]?: Promise<DbHandle> };

/**
 * The process-wide client (the server holds one instance). Kept on globalThis so every bundle
 * of this module in one process (Next.js compiles server code separately) shares it.
 */
export function getDb(): Promise<PrismaClient> {
  const g = globalThis as GlobalWithDb;
  g[GLOBAL_KEY] ??= openDb();
  return g[GLOBAL_KEY].then((h) => h.prisma);
}
