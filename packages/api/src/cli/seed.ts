// npm run db:seed [-- --json] [-- --force]: writes the demo data set; with --json prints its manifest.
// It empties every application table first, so it refuses under NODE_ENV=production and on a
// database holding anything but the demo data set, unless given --force (see seedRefusal).
import { seedDemoData, seedRefusal } from "@roster/db/seed";
import { buildManifest } from "../services/demo-manifest";
import { runCli, UsageError } from "./run";

const USAGE = "Usage: npm run db:seed [-- --json] [--force]";

await runCli(async ({ db, config, args }) => {
  const unknown = args.filter((a) => a !== "--json" && a !== "--force");
  if (unknown.length > 0) throw new UsageError(`Unknown argument ${unknown[0]}. ${USAGE}`);
  const refusal = await seedRefusal(db.prisma, {
    production: config.nodeEnv === "production",
    force: args.includes("--force"),
  });
  if (refusal) throw new UsageError(refusal);
  // Said before anything is written: the seed deletes every row, so every token and web session
  // issued until now stops working and every id changes.
  const where = config.database.kind === "embedded" ? `the embedded database (${config.database.dir})` : "DATABASE_URL";
  console.error(
    `db:seed replaces ALL data in ${where} with the demo data and ends every session (tokens and sign-ins). ` +
      "For a machine identity's credentials alone, use npm run identity:secret.",
  );
  const started = Date.now();
  const orgs = await seedDemoData(db.prisma);
  const members = orgs.reduce((n, o) => n + o.members.length, 0);
  console.error(`Seeded ${orgs.length} organizations and ${members} memberships in ${Date.now() - started} ms`);
  if (args.includes("--json")) {
    const manifest = await buildManifest(db.prisma, config.authSecret, orgs);
    process.stdout.write(`${JSON.stringify(manifest, null, 2)}\n`);
  }
});
