// A PostgreSQL cluster of the test's own (initdb in a temp folder, on a free port), so that a
// test can stop and start a whole database server, which it must never do to the run's. Debian's
// server binaries; as root, the cluster runs as the postgres user (PostgreSQL refuses root).
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { freePort } from "@roster/config/net";

const PG_ROOT = "/usr/lib/postgresql";

/** The folder of PostgreSQL's server binaries (the newest installed), or null. */
export function serverBinaries(): string | null {
  if (!fs.existsSync(PG_ROOT)) return null;
  const versions = fs
    .readdirSync(PG_ROOT)
    .filter((v) => fs.existsSync(path.join(PG_ROOT, v, "bin", "pg_ctl")))
    .sort((a, b) => Number(b) - Number(a));
  return versions[0] ? path.join(PG_ROOT, versions[0], "bin") : null;
}

export interface ScratchCluster {
  /** A URL of the cluster's `postgres` database. */
  url: string;
  port: number;
  /** Fast shutdown: every connection is closed at once, as in a restart. */
  stop(): Promise<void>;
  start(): Promise<void>;
  /** Stops the cluster and deletes its folder. */
  destroy(): Promise<void>;
}

export async function startScratchCluster(): Promise<ScratchCluster> {
  const bin = serverBinaries();
  if (!bin) throw new Error(`no PostgreSQL server binaries under ${PG_ROOT}`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "roster-cluster-"));
  const data = path.join(dir, "data");
  const asRoot = process.getuid?.() === 0;
  if (asRoot) fs.chownSync(dir, uidOf("postgres"), uidOf("postgres", "g"));
  const run = (cmd: string, args: string[]) => {
    const argv = asRoot
      ? ["runuser", "-u", "postgres", "--", path.join(bin, cmd), ...args]
      : [path.join(bin, cmd), ...args];
    const r = spawnSync(argv[0] as string, argv.slice(1), { encoding: "utf8", timeout: 60_000 });
    if (r.status !== 0) throw new Error(`${cmd} failed (${r.status}): ${r.stderr || r.stdout}`);
  };
  const port = await freePort();
  run("initdb", ["-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C"]);
  const log = path.join(dir, "server.log");
  // No Unix socket (the folder's default may not be writable); a small footprint; no fsync: a test cluster.
  const options = `-p ${port} -k '' -c listen_addresses=127.0.0.1 -c fsync=off -c shared_buffers=32MB -c max_connections=60`;
  const start = async () => run("pg_ctl", ["-D", data, "-l", log, "-o", options, "-w", "-t", "30", "start"]);
  const stop = async () => run("pg_ctl", ["-D", data, "-m", "fast", "-w", "-t", "30", "stop"]);
  await start();
  return {
    url: `postgresql://postgres@127.0.0.1:${port}/postgres`,
    port,
    stop,
    start,
    async destroy() {
      try {
        await stop();
      } catch {
        // already stopped
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

function uidOf(user: string, kind: "u" | "g" = "u"): number {
  const r = spawnSync("id", [`-${kind}`, user], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`no ${user} user: ${r.stderr}`);
  return Number(r.stdout.trim());
}
