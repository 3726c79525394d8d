#!/usr/bin/env node
// Generates the Prisma client into packages/db/src/generated (runs on every npm install).
import { spawnSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const env = {
  ...process.env,
  PRISMA_SCHEMA_ENGINE_BINARY: path.join(root, "scripts/no-schema-engine.sh"),
  CHECKPOINT_DISABLE: "1",
  PRISMA_HIDE_UPDATE_MESSAGE: "1",
};
const result = spawnSync(
  process.execPath,
  [path.join(root, "node_modules/prisma/build/index.js"), "generate", "--no-hints"],
  { cwd: root, env, stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" },
);
// Quiet when it works (it runs on every install); everything Prisma said when it does not.
if (result.status !== 0) {
  process.stdout.write(result.stdout ?? "");
  process.stderr.write(result.stderr ?? "");
  if (result.error) console.error(result.error.message);
}
process.exit(result.status ?? 1);
