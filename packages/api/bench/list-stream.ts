// The streamed REST listing at scale: an organization of 100,000 members (written in one
// INSERT ... SELECT over generate_series), listed in full over HTTP from a running Roster
// (`npm start` on the bench database). Reports the time to the last byte, the body size, and
// the web server's resident memory before, at its peak during, and after the transfer: a
// streamed read holds one page at a time, so the peak stays far below the body size.
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { issueAccessToken } from "@roster/api/auth";
import { repoRoot } from "@roster/config";
import { openDb } from "@roster/db";

export interface ListStreamResult {
  database: string;
  members: number;
  seconds: number;
  megabytes: number;
  serverRssMb: { before: number; peak: number; after: number } | null;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** The pids below `pid` (Linux /proc; none elsewhere). */
function descendants(pid: number): number[] {
  try {
    const children = fs
      .readFileSync(`/proc/${pid}/task/${pid}/children`, "utf8")
      .trim()
      .split(/\s+/)
      .filter(Boolean)
      .map(Number);
    return children.flatMap((c) => [c, ...descendants(c)]);
  } catch {
    return [];
  }
}

/** The web server process (apps/web/server.mjs) that `npm start` runs, among `pid`'s descendants. */
function webServerPid(pid: number): number | null {
  for (const p of descendants(pid)) {
    try {
      if (fs.readFileSync(`/proc/${p}/cmdline`, "utf8").includes("server.mjs")) return p;
    } catch {
      // exited meanwhile
    }
  }
  return null;
}

function rssMb(pid: number | null): number | null {
  if (pid === null) return null;
  try {
    const line = fs
      .readFileSync(`/proc/${pid}/status`, "utf8")
      .split("\n")
      .find((l) => l.startsWith("VmRSS:"));
    return line ? Math.round(Number(line.replace(/\D+/g, "")) / 1024) : null;
  } catch {
    return null;
  }
}

async function waitForHealth(url: string, child: ChildProcess, timeoutMs = 15 * 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`Roster exited with code ${child.exitCode}`);
    try {
      if ((await fetch(`${url}/api/health`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`Roster did not answer ${url}/api/health in time`);
}

/** Adds an organization of `members` accepted members (and its admin) to the migrated database at `url`. */
async function bigOrganization(url: string, secret: string, members: number) {
  const handle = await openDb({ kind: "postgres", url });
  try {
    const prisma = handle.prisma;
    const slug = `bench-stream-${randomBytes(4).toString("hex")}`;
    const org = await prisma.organization.create({ data: { slug, name: slug }, select: { id: true } });
    await prisma.$executeRaw`
      WITH u AS (
        INSERT INTO users (email, username, first_name, last_name)
        SELECT ${slug} || '-' || g || '@bench.test', ${slug} || '-' || g, 'First' || g, 'Last' || g
        FROM generate_series(1, ${members}::int) g
        RETURNING id)
      INSERT INTO org_memberships (org_id, user_id, role, status, created_at)
      SELECT ${org.id}::uuid, u.id, 'member'::"OrgRole", 'accepted'::"MembershipStatus",
             now() - (row_number() OVER ()) * interval '1 millisecond'
      FROM u`;
    const admin = await prisma.user.create({
      data: { email: `${slug}-admin@bench.test`, username: `${slug}-admin` },
      select: { id: true },
    });
    await prisma.orgMembership.create({ data: { orgId: org.id, userId: admin.id, role: "admin", status: "accepted" } });
    const { token } = await issueAccessToken(prisma, secret, { userId: admin.id, organizationId: org.id });
    return { orgId: org.id, authorization: `Bearer ${token}` };
  } finally {
    await handle.close();
  }
}

/**
 * Times GET /api/v2/organizations/{id}/memberships of an organization of `members` members on
 * the database at `url` (already migrated), served by Roster started as `npm start` starts it.
 */
export async function benchListStream(opts: {
  database: string;
  url: string;
  secret: string;
  members?: number;
}): Promise<ListStreamResult> {
  const members = opts.members ?? 100_000;
  const t0 = performance.now();
  const { orgId, authorization } = await bigOrganization(opts.url, opts.secret, members);
  console.error(
    `[list-stream] ${opts.database}: ${members} members written in ${Math.round(performance.now() - t0)} ms`,
  );

  const root = repoRoot();
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const child = spawn(
    process.execPath,
    [path.join(root, "node_modules/tsx/dist/cli.mjs"), "apps/web/scripts/start.ts"],
    {
      cwd: root,
      stdio: ["ignore", "ignore", "inherit"],
      env: { ...process.env, DATABASE_URL: opts.url, AUTH_SECRET: opts.secret, PORT: String(port), LOG_LEVEL: "warn" },
    },
  );
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  try {
    await waitForHealth(base, child);
    const server = webServerPid(child.pid as number);
    const before = rssMb(server);
    let peak = before ?? 0;
    const sampler = setInterval(() => {
      peak = Math.max(peak, rssMb(server) ?? 0);
    }, 20);

    const started = performance.now();
    const res = await fetch(`${base}/api/v2/organizations/${orgId}/memberships`, { headers: { authorization } });
    if (res.status !== 200) throw new Error(`the listing answered ${res.status}: ${await res.text()}`);
    const chunks: Uint8Array[] = [];
    let bytes = 0;
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      chunks.push(chunk);
      bytes += chunk.byteLength;
    }
    const seconds = (performance.now() - started) / 1000;
    clearInterval(sampler);
    const after = rssMb(server);

    const listed = (JSON.parse(Buffer.concat(chunks).toString("utf8")) as { users: unknown[] }).users.length;
    if (listed !== members + 1) throw new Error(`listed ${listed} memberships, expected ${members + 1}`);
    const result: ListStreamResult = {
      database: opts.database,
      members: listed,
      seconds: Math.round(seconds * 100) / 100,
      megabytes: Math.round(bytes / 1e5) / 10,
      serverRssMb: before === null || after === null ? null : { before, peak, after },
    };
    const rss = result.serverRssMb
      ? `server RSS ${result.serverRssMb.before} MB before, ${result.serverRssMb.peak} MB at peak, ${result.serverRssMb.after} MB after`
      : "server RSS not measurable here (no /proc)";
    console.log(
      `GET .../memberships, ${opts.database}: ${listed.toLocaleString("en")} members, ${result.megabytes} MB in ${result.seconds} s (target < 2 s); ${rss}`,
    );
    return result;
  } finally {
    if (child.exitCode === null) child.kill("SIGTERM");
    await exited;
  }
}
