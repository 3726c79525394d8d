// `npm run db:migrate`              applies pending migrations to the configured database.
// `npm run db:migrate:new -- --name x` writes prisma/migrations/<timestamp>_x from schema changes.
import path from "node:path";
import { exitOnConfigError, getConfig } from "@roster/config";
import { openDb } from "../client";
import { applyMigrations, createMigration, type MigrationTarget } from "../migrate/index";

const USAGE = "Usage: migrate deploy | migrate new --name <name>";

function describeUrl(url: string): string {
  const u = new URL(url);
  return `PostgreSQL ${u.hostname}${u.port ? `:${u.port}` : ""}${u.pathname}`;
}

async function deploy(): Promise<void> {
  const { database } = exitOnConfigError(getConfig);
  const onApplied = (name: string) => console.log(`Applied ${name}`);
  // The embedded database is reached like any other: through its owner's loopback port (this
  // process becomes the owner when no server has it open; see embedded.ts).
  const handle = await openDb(database);
  const target: MigrationTarget = { kind: "postgres", url: handle.url as string };
  const where =
    database.kind === "postgres"
      ? describeUrl(database.url)
      : `embedded database ${path.relative(process.cwd(), database.dir) || "."}`;
  try {
    const { applied } = await applyMigrations(target, { onApplied });
    console.log(
      applied.length
        ? `${applied.length} migration${applied.length === 1 ? "" : "s"} applied to ${where}`
        : `No pending migrations: ${where} is up to date`,
    );
  } finally {
    await handle.close();
  }
}

async function create(args: string[]): Promise<void> {
  const i = args.findIndex((a) => a === "--name" || a.startsWith("--name="));
  const name = i < 0 ? undefined : args[i]?.includes("=") ? args[i]?.slice("--name=".length) : args[i + 1];
  if (!name) throw new Error(`Missing --name. ${USAGE}`);
  const folder = await createMigration(name);
  console.log(folder ? path.relative(process.cwd(), path.join(folder, "migration.sql")) : "No schema changes");
}

async function main(): Promise<void> {
  const [command, ...args] = process.argv.slice(2);
  if (command === "deploy") return deploy();
  if (command === "new") return create(args);
  throw new Error(USAGE);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message.split("\n")[0] : String(err));
  process.exit(1);
});
