import { createHash, randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { bindMigrationAwareSqlAdapterFactory } from "@prisma/driver-adapter-utils";
import pg from "pg";
import { PrismaPGlite } from "pglite-prisma-adapter";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { engineMigrationsList } from "../src/migrate/diff-schema";
import {
  applyMigrations,
  diffSchemaAgainstMigrations,
  type MigrationTarget,
  readMigrations,
} from "../src/migrate/index";
import { defaultMigrationsDir, schemaPath } from "../src/migrate/migrations-folder";
import { loadSchemaEngine } from "../src/migrate/schema-engine";
import { pgliteExtensions } from "../src/pglite-extensions";

const SLOW = 120_000;
const migrationsDir = defaultMigrationsDir();
const names = readMigrations().map((m) => m.name);
const TABLES = [
  "users",
  "organizations",
  "org_roles",
  "org_memberships",
  "org_member_counts",
  "projects",
  "project_memberships",
  "project_membership_roles",
  "auth_sessions",
  "audit_events",
  "identities",
  "identity_org_memberships",
  "identity_universal_auths",
  "identity_client_secrets",
  "identity_access_tokens",
  "membership_snapshots",
  "idempotency_keys",
];
const tmpDirs: string[] = [];
afterAll(() => {
  for (const dir of tmpDirs) fs.rmSync(dir, { recursive: true, force: true });
});

function tmpDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "roster-migrate-"));
  tmpDirs.push(dir);
  return dir;
}

/** A copy of the committed migrations, plus extra ones, to change without touching the repository. */
function migrationsCopy(extra: Record<string, string> = {}): string {
  const dir = path.join(tmpDir(), "migrations");
  fs.cpSync(migrationsDir, dir, { recursive: true });
  for (const [name, sql] of Object.entries(extra)) {
    fs.mkdirSync(path.join(dir, name));
    fs.writeFileSync(path.join(dir, name, "migration.sql"), sql);
  }
  return dir;
}

describe("diffSchemaAgainstMigrations", () => {
  it(
    "finds no drift between prisma/schema.prisma and the committed migrations",
    async () => {
      expect(names.length).toBeGreaterThan(0);
      expect(await diffSchemaAgainstMigrations()).toBe("");
    },
    SLOW,
  );

  it(
    "reports a schema change as the SQL that is missing",
    async () => {
      const schema = `${fs.readFileSync(schemaPath(), "utf8")}\nmodel DriftProbe {\n  id Int @id\n\n  @@map("drift_probe")\n}\n`;
      expect(await diffSchemaAgainstMigrations({ schema })).toContain('CREATE TABLE "drift_probe"');
    },
    SLOW,
  );
});

type Query = (sql: string, params?: unknown[]) => Promise<Record<string, unknown>[]>;
interface Harness {
  target: MigrationTarget;
  query: Query;
}

/** The scenarios both databases must pass; `get` returns the harness opened in beforeAll. */
function sharedScenarios(get: () => Harness) {
  it("applies every migration once, recorded as `prisma migrate deploy` records it", async () => {
    const { target, query } = get();
    expect((await applyMigrations(target)).applied).toEqual(names);
    await expectMigrated(query);
    expect((await applyMigrations(target)).applied).toEqual([]);
  });

  it("refuses to run when an applied migration's checksum differs", async () => {
    const { target, query } = get();
    const [row] = await query("SELECT id, checksum FROM _prisma_migrations ORDER BY migration_name LIMIT 1");
    await query("UPDATE _prisma_migrations SET checksum = $1 WHERE id = $2", ["0".repeat(64), row?.id]);
    try {
      await expect(applyMigrations(target)).rejects.toThrow(
        new RegExp(`Migration ${names[0]} was modified after it was applied`),
      );
    } finally {
      await query("UPDATE _prisma_migrations SET checksum = $1 WHERE id = $2", [row?.checksum, row?.id]);
    }
  });

  it("refuses to run over a failed migration", async () => {
    const { target, query } = get();
    await query(
      "INSERT INTO _prisma_migrations (id, checksum, migration_name, logs) VALUES ('failed-probe', $1, '20000101000000_half_done', 'boom')",
      ["0".repeat(64)],
    );
    try {
      await expect(applyMigrations(target)).rejects.toThrow(/Migration 20000101000000_half_done failed/);
    } finally {
      await query("DELETE FROM _prisma_migrations WHERE id = 'failed-probe'");
    }
  });

  it("rolls back a migration that fails, and records nothing for it", async () => {
    const { target, query } = get();
    const dir = migrationsCopy({
      "29991231235959_broken": "CREATE TABLE broken_probe (id int);\nSELECT * FROM no_such_table;\n",
    });
    await expect(applyMigrations(target, { migrationsDir: dir })).rejects.toThrow(
      /Migration 29991231235959_broken failed and was rolled back: .*no_such_table/,
    );
    expect(await query("SELECT to_regclass('broken_probe') IS NULL AS absent")).toEqual([{ absent: true }]);
    await expectMigrated(query);
  });
}

async function expectMigrated(query: Query) {
  const tables = (await query("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")).map((r) => r.tablename);
  expect(tables.sort()).toEqual([...TABLES, "_prisma_migrations"].sort());
  expect(await query(`SELECT unnest(enum_range(NULL::"OrgRole"))::text AS v`)).toEqual(
    ["admin", "member", "no-access", "custom"].map((v) => ({ v })),
  );

  const rows = await query("SELECT * FROM _prisma_migrations ORDER BY migration_name");
  expect(rows.map((r) => r.migration_name)).toEqual(names);
  for (const row of rows) {
    const file = fs.readFileSync(path.join(migrationsDir, String(row.migration_name), "migration.sql"));
    expect(row).toMatchObject({
      checksum: createHash("sha256").update(file).digest("hex"),
      logs: null,
      rolled_back_at: null,
      applied_steps_count: 1,
    });
    expect(row.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(row.finished_at).toBeInstanceOf(Date);
    expect((row.finished_at as Date).getTime()).toBeGreaterThanOrEqual((row.started_at as Date).getTime());
  }
}

describe("applyMigrations on PGlite", () => {
  let db: PGlite;
  const harness = (): Harness => ({
    target: { kind: "pglite", db },
    query: async (sql, params) => (await db.query<Record<string, unknown>>(sql, params)).rows,
  });
  beforeAll(async () => {
    db = await PGlite.create(path.join(tmpDir(), "pglite"), { extensions: pgliteExtensions });
  }, SLOW);
  afterAll(() => db?.close());

  sharedScenarios(harness);

  it(
    "leaves a history that Prisma's own schema engine agrees with",
    async () => {
      const SchemaEngine = await loadSchemaEngine();
      const engine = await SchemaEngine.new(
        { datamodels: [[schemaPath(), fs.readFileSync(schemaPath(), "utf8")]] },
        () => {},
        bindMigrationAwareSqlAdapterFactory(new PrismaPGlite(db)),
      );
      try {
        const migrationsList = engineMigrationsList();
        const filters = { externalTables: [], externalEnums: [] };
        expect(
          await engine.diagnoseMigrationHistory({ migrationsList, optInToShadowDatabase: false, filters }),
        ).toEqual({
          editedMigrationNames: [],
          failedMigrationNames: [],
          hasMigrationsTable: true,
          history: null,
        });
        expect(await engine.applyMigrations({ migrationsList, filters })).toEqual({ appliedMigrationNames: [] });
      } finally {
        engine.free();
      }
    },
    SLOW,
  );

  it("refuses a migration file edited after it was applied", async () => {
    const dir = migrationsCopy();
    const last = path.join(dir, names.at(-1) ?? "", "migration.sql");
    fs.appendFileSync(last, "-- edited\n");
    await expect(applyMigrations(harness().target, { migrationsDir: dir })).rejects.toThrow(
      /was modified after it was applied/,
    );
  });
});

describe("applyMigrations on PostgreSQL", () => {
  // Always the machine's PostgreSQL server, never DATABASE_URL: in the shared test run that may be
  // the embedded database served on a loopback port, which has one session and no real locks.
  const server = new URL("postgresql://postgres@127.0.0.1:5432/postgres");
  const urlOf = (name: string) => Object.assign(new URL(server), { pathname: `/${name}` }).toString();
  const name = `roster_migrate_${randomBytes(6).toString("hex")}`;
  const url = urlOf(name);
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: urlOf("postgres") });
    await client.connect();
    try {
      await client.query(sql);
    } finally {
      await client.end();
    }
  };
  let client: pg.Client | undefined;
  const harness = (): Harness => ({
    target: { kind: "postgres", url },
    query: async (sql, params) => {
      if (!client) throw new Error("not connected");
      return (await client.query(sql, params)).rows;
    },
  });

  beforeAll(async () => {
    await admin(`CREATE DATABASE "${name}"`);
    client = new pg.Client({ connectionString: url });
    await client.connect();
  });
  afterAll(async () => {
    await client?.end();
    await admin(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  });

  sharedScenarios(harness);

  it("lets only one of two simultaneous runs apply the migrations", async () => {
    const racedName = `${name}_race`;
    const raced: MigrationTarget = { kind: "postgres", url: urlOf(racedName) };
    await admin(`CREATE DATABASE "${racedName}"`);
    try {
      const runs = await Promise.all([applyMigrations(raced), applyMigrations(raced)]);
      expect(runs.map((r) => r.applied).sort((a, b) => a.length - b.length)).toEqual([[], names]);
    } finally {
      await admin(`DROP DATABASE IF EXISTS "${racedName}" WITH (FORCE)`);
    }
  });

  it("gives up with a clear error when another run holds the migration lock", async () => {
    const other = new pg.Client({ connectionString: url });
    await other.connect();
    try {
      await other.query("SELECT pg_advisory_lock(72707369)");
      await expect(applyMigrations(harness().target, { lockTimeoutMs: 300 })).rejects.toThrow(
        /Another process kept the migration lock/,
      );
    } finally {
      await other.end();
    }
  });
});
