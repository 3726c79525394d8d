// A real restart of the database server under load: Roster on a PostgreSQL cluster of the test's
// own (scratch-cluster.ts), removals streaming in from four clients, the cluster stopped (fast
// shutdown: every connection closed) and started again. Every answer is 200 or the 503 envelope
// within a bounded time, every removal is whole or absent, and the instance serves again within
// 5 s of the database's return without being restarted.
import { DELETED_EVENT, MSG, orgOf, REQ_ID, reseed, tokenOf } from "@roster/api/testing";
import type { DemoManifest } from "@roster/contract";
import { type DbHandle, openDb } from "@roster/db";
import { applyMigrations } from "@roster/db/migrate";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { sleep } from "../scripts/processes";
import type { WebServer } from "../scripts/server";
import { type ScratchCluster, serverBinaries, startScratchCluster } from "./deploy/scratch-cluster";
import { startExtraServer } from "./support/extra-server";
import { membershipsPath, sendRaw } from "./support/http";

/** Longer than the pool's connection timeout (10 s): past it, a request counts as hung. */
const HUNG_MS = 25_000;

const isPostgres = inject("databaseKind") === "postgres";
const missing = serverBinaries() === null;
if (isPostgres && missing && process.env.CI === "true") {
  throw new Error("PostgreSQL's server binaries (initdb, pg_ctl) are missing: apt-get install postgresql");
}

interface Answer {
  id: string;
  status: number;
  body: unknown;
  ms: number;
}

describe.skipIf(!isPostgres || missing)("the database server restarting under load", () => {
  let cluster: ScratchCluster;
  let db: DbHandle;
  let server: WebServer;
  let manifest: DemoManifest;
  let bearer: string;
  let orgId: string;
  let ids: string[];

  beforeAll(async () => {
    cluster = await startScratchCluster();
    const admin = new pg.Client({ connectionString: cluster.url });
    await admin.connect();
    await admin.query("CREATE DATABASE roster").finally(() => admin.end());
    const url = cluster.url.replace(/\/postgres$/, "/roster");
    await applyMigrations({ kind: "postgres", url });
    db = await openDb({ kind: "postgres", url });
    manifest = await reseed(db.prisma);
    server = await startExtraServer({ DATABASE_URL: url, LOG_LEVEL: "warn" });
    const acme = orgOf(manifest, "acme");
    orgId = acme.id;
    bearer = `Bearer ${tokenOf(manifest, "acme", "admin@acme.test")}`;
    ids = acme.members.filter((m) => /^user\d+@/.test(m.email)).map((m) => m.membershipId);
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
    await db?.close();
    await cluster?.destroy();
  });

  async function remove(id: string): Promise<Answer> {
    const started = performance.now();
    const res = await sendRaw({
      base: server.url,
      method: "DELETE",
      path: membershipsPath(orgId),
      headers: { authorization: bearer, "content-type": "application/json" },
      body: JSON.stringify({ membershipIds: [id] }),
      signal: AbortSignal.timeout(HUNG_MS),
    });
    return { id, status: res.status, body: res.body ?? res.text, ms: performance.now() - started };
  }

  /** Whether the membership was removed with its audit event, or is untouched (never half). */
  async function applied(id: string): Promise<boolean> {
    const [left, audited] = await Promise.all([
      db.prisma.orgMembership.count({ where: { id } }),
      db.prisma.auditEvent.count({ where: { targetId: id, eventType: DELETED_EVENT } }),
    ]);
    if (left === 0 && audited === 1) return true;
    if (left === 1 && audited === 0) return false;
    throw new Error(`membership ${id} is half removed: ${left} left, ${audited} audit events`);
  }

  it("answers 200 or 503 in bounded time, removes whole or nothing, and serves again within 5 s of the return", async () => {
    const answers: Answer[] = [];
    let next = 0;
    let stopping = false;
    const worker = async () => {
      while (!stopping && next < ids.length - 1) {
        const a = await remove(ids[next++] as string);
        answers.push(a);
        // A refused request costs an id each: pace them while the database is away.
        if (a.status !== 200) await sleep(200);
      }
    };
    const workers = Array.from({ length: 4 }, worker);
    // Let the stream get going, then restart the cluster under it.
    while (answers.filter((a) => a.status === 200).length < 8) await sleep(20);
    await cluster.stop();
    await sleep(1000);
    await cluster.start();
    const back = performance.now();
    // The first removal that succeeds after the database's return, through the same instance.
    const last = ids[ids.length - 1] as string;
    let recovered: number | null = null;
    while (recovered === null && performance.now() - back < 15_000) {
      const a = await remove(last);
      if (a.status === 200) recovered = performance.now() - back;
      else await sleep(100);
    }
    stopping = true;
    await Promise.all(workers);
    console.info(`serving again ${Math.round(recovered ?? -1)} ms after the database returned`);
    expect(recovered).not.toBeNull();
    expect(recovered as number).toBeLessThan(5000);

    const refused = answers.filter((a) => a.status !== 200);
    expect(refused.length).toBeGreaterThan(0);
    for (const a of answers) {
      expect(a.ms).toBeLessThan(HUNG_MS);
      if (a.status === 200) {
        expect(await applied(a.id)).toBe(true);
        continue;
      }
      expect(a.status).toBe(503);
      expect(a.body).toEqual({
        reqId: expect.stringMatching(REQ_ID),
        statusCode: 503,
        message: MSG.unavailable,
        error: "ServiceUnavailable",
      });
      // A commit that reached the database before it went away is applied whole; any other is absent.
      await applied(a.id);
    }
    expect(await applied(last)).toBe(true);
  });
});
