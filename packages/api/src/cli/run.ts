// Shared frame of the command-line tools: configuration errors and failures become one clear
// line on standard error and exit code 1; the database is always closed.
import { type Config, ConfigError, getConfig } from "@roster/config";
import { type DbHandle, openDb } from "@roster/db";

export class UsageError extends Error {}

export async function runCli(
  main: (ctx: { db: DbHandle; config: Config; args: string[] }) => Promise<void>,
): Promise<void> {
  let db: DbHandle | undefined;
  try {
    const config = getConfig();
    db = await openDb(config.database);
    await main({ db, config, args: process.argv.slice(2) });
  } catch (err) {
    process.exitCode = 1;
    if (err instanceof ConfigError || err instanceof UsageError) console.error(err.message);
    else console.error(`Error: ${err instanceof Error ? err.message : String(err)}`);
  } finally {
    await db?.close();
  }
}

/** `--name value` or `--name=value`. */
export function flag(args: string[], name: string): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a === `--${name}`) return args[i + 1];
    if (a.startsWith(`--${name}=`)) return a.slice(name.length + 3);
  }
  return undefined;
}
