// Computes the SQL that takes the committed migration history to prisma/schema.prisma, with Prisma's
// schema engine replaying the migrations into a throwaway in-memory PGlite: no real database and no
// shadow database is ever touched.
import fs from "node:fs";
import path from "node:path";
import { PGlite } from "@electric-sql/pglite";
import {
  bindMigrationAwareSqlAdapterFactory,
  DriverAdapterError,
  type SqlMigrationAwareDriverAdapterFactory,
} from "@prisma/driver-adapter-utils";
import { PrismaPGlite } from "pglite-prisma-adapter";
import { pgliteExtensions } from "../pglite-extensions";
import {
  defaultMigrationsDir,
  LOCKFILE_CONTENT,
  LOCKFILE_NAME,
  MigrationError,
  readLockfile,
  readMigrations,
  schemaPath,
} from "./migrations-folder";
import { loadSchemaEngine, takeEnginePanic } from "./schema-engine";

export interface DiffOptions {
  /** Schema text to diff against instead of prisma/schema.prisma (tests). */
  schema?: string;
  /** Defaults to prisma/migrations. */
  migrationsDir?: string;
}

/** The migration script that would bring the history up to the schema; '' when nothing differs. */
export async function diffSchemaAgainstMigrations(opts: DiffOptions = {}): Promise<string> {
  const dir = opts.migrationsDir ?? defaultMigrationsDir();
  const file = schemaPath();
  const schema = opts.schema ?? fs.readFileSync(file, "utf8");
  const migrationsList = engineMigrationsList(dir);

  const SchemaEngine = await loadSchemaEngine();
  const db = new PGlite({ extensions: pgliteExtensions });
  try {
    const engine = await SchemaEngine.new(
      { datamodels: [[file, schema]] },
      () => {},
      bindMigrationAwareSqlAdapterFactory(inMemoryFactory(db)),
    );
    try {
      const result = await engine.diff({
        from: { tag: "migrations", ...migrationsList },
        to: { tag: "schemaDatamodel", files: [{ path: file, content: schema }] },
        script: true,
        exitCode: null,
        filters: { externalTables: [], externalEnums: [] },
      });
      const script = result.stdout ?? "";
      return hasStatement(script) ? script : "";
    } finally {
      engine.free();
    }
  } catch (err) {
    const reason = takeEnginePanic() ?? engineMessage(err);
    throw new MigrationError(`Could not diff the schema against the migrations: ${reason}`, { cause: err });
  } finally {
    await db.close();
  }
}

/** The migration history in the shape the schema engine takes it. */
export function engineMigrationsList(dir = defaultMigrationsDir()) {
  return {
    baseDir: dir,
    // The engine insists on a lockfile; before the first migration there is none yet.
    lockfile: { path: LOCKFILE_NAME, content: readLockfile(dir) ?? LOCKFILE_CONTENT },
    shadowDbInitScript: "",
    migrationDirectories: readMigrations(dir).map((m) => ({
      path: m.name,
      migrationFile: { path: "migration.sql", content: { tag: "ok" as const, value: m.sql } },
    })),
  };
}

/** Writes prisma/migrations/<UTC YYYYMMDDHHMMSS>_<name>/migration.sql; null when there is nothing to write. */
export async function createMigration(name: string, opts: DiffOptions = {}): Promise<string | null> {
  if (!/^[a-z0-9_]+$/.test(name)) {
    throw new MigrationError(`Invalid migration name "${name}": use lowercase letters, digits and underscores only`);
  }
  const script = await diffSchemaAgainstMigrations(opts);
  if (!script) return null;
  const dir = opts.migrationsDir ?? defaultMigrationsDir();
  const folder = path.join(dir, `${new Date().toISOString().replace(/\D/g, "").slice(0, 14)}_${name}`);
  if (fs.existsSync(folder)) throw new MigrationError(`Migration folder ${folder} already exists`);
  fs.mkdirSync(folder, { recursive: true });
  fs.writeFileSync(path.join(folder, "migration.sql"), script);
  const lockfile = path.join(dir, LOCKFILE_NAME);
  if (!fs.existsSync(lockfile)) fs.writeFileSync(lockfile, LOCKFILE_CONTENT);
  return folder;
}

// Engine errors span several lines, with a Rust span trace and filler between the useful ones.
function engineMessage(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line && !/^(\d+:|at |Error:$|external connector error$)/.test(line))
    .join(" ");
}

const hasStatement = (script: string) =>
  script.split("\n").some((line) => line.trim() !== "" && !line.trim().startsWith("--"));

/**
 * The engine's main and shadow connections both go to the one throwaway database. Two things in
 * pglite-prisma-adapter 0.7.2 are avoided on purpose: its connectToShadowDb opens an in-memory
 * PGlite of whatever version it resolves (here a hoisted 0.4.3) and never closes it, and its
 * executeScript does not await `exec`, so a migration that fails to replay would surface as an
 * unhandled rejection instead of an engine error. The error is passed on as PostgreSQL's own, so the
 * engine's message says what went wrong.
 */
function inMemoryFactory(db: PGlite): SqlMigrationAwareDriverAdapterFactory {
  const open = async () => {
    const adapter = await new PrismaPGlite(db).connect();
    adapter.executeScript = async (script) => {
      try {
        await db.exec(script);
      } catch (err) {
        const e = err as { code?: string; severity?: string; message: string; detail?: string; hint?: string };
        throw new DriverAdapterError({
          kind: "postgres",
          code: e.code ?? "N/A",
          severity: e.severity ?? "ERROR",
          message: e.message,
          detail: e.detail,
          column: undefined,
          hint: e.hint,
        });
      }
    };
    return adapter;
  };
  return { provider: "postgres", adapterName: "pglite-prisma-adapter", connect: open, connectToShadowDb: open };
}
