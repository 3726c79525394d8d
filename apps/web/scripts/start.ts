// `npm start`: Roster on the configured database (the embedded one by default), with the demo
// data when it starts empty outside production.
import { ConfigError, getConfig } from "@roster/config";
import { DEMO_PASSWORD } from "@roster/db/seed";
import { startRoster } from "./server";

async function main(): Promise<void> {
  const config = getConfig();
  const where =
    config.database.kind === "postgres"
      ? "PostgreSQL (DATABASE_URL)"
      : `the embedded database in ${config.database.dir}`;
  console.error(`Starting Roster on ${where}…`);
  const server = await startRoster({ config });
  console.log(`\nRoster is running at ${server.url}`);
  // The demo accounts' password is public: it is only ever shown for the demo data, outside production.
  if (server.demoData && config.nodeEnv !== "production") {
    console.log(`Sign in as admin@acme.test with the password ${DEMO_PASSWORD}`);
    console.log(`API token for scripts: npm run token -- --email admin@acme.test --org acme\n`);
  } else {
    console.log(`API token for scripts: npm run token -- --email <e> --org <slug>\n`);
  }

  const shutdown = (signal: string) => {
    console.error(`\n${signal}: stopping Roster…`);
    void server.stop().then(() => process.exit(0));
  };
  process.once("SIGINT", () => shutdown("SIGINT"));
  process.once("SIGTERM", () => shutdown("SIGTERM"));
  const code = await server.exited;
  await server.stop();
  process.exit(code);
}

main().catch((err: unknown) => {
  console.error(
    err instanceof ConfigError
      ? err.message
      : `Roster could not start: ${err instanceof Error ? err.message : String(err)}`,
  );
  process.exit(1);
});
