// PostgreSQL dropping an instance's connections under load (the backends terminated, as a restart
// of the cluster does): the requests in flight answer 503 with the error envelope, never a 500,
// never a hang, never a partial removal; and the instance serves again without a restart.
//
// The server under test runs on the run's database with an application_name of its own, so only
// its backends are terminated (the test's own connections, which hold locks and check the
// results, are spared).
import { randomBytes } from "node:crypto";
import { DELETED_EVENT, MSG, orgOf, REQ_ID, reseed, testDb, tokenOf } from "@roster/api/testing";
import type { DemoManifest } from "@roster/contract";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { WebServer } from "../scripts/server";
import { startExtraServer } from "./support/extra-server";
import { membershipsPath, sendRaw, TRPC_BULK_DELETE_PATH } from "./support/http";

const APP = `roster-dbfail-${randomBytes(4).toString("hex")}`;
/** Longer than the pool's connection timeout (10 s): past it, a request counts as hung. */
const HUNG_MS = 25_000;

type Surface = "rest" | "trpc";
interface Answer {
  surface: Surface;
  ids: string[];
  status: number;
  body: unknown;
}

const isPostgres = inject("databaseKind") === "postgres";

describe.skipIf(!isPostgres)("PostgreSQL terminating the instance's connections", () => {
  let server: WebServer;
  let manifest: DemoManifest;
  /** Holds the row locks (in a transaction, so it cannot also watch pg_stat_activity, a per-transaction snapshot). */
  let admin: pg.Client;
  /** Watches and terminates the server's backends. */
  let observer: pg.Client;
  let orgId: string;
  let bearer: string;
  let batches: string[][];

  beforeAll(async () => {
    manifest = await reseed();
    const url = new URL(inject("databaseUrl"));
    url.searchParams.set("application_name", APP);
    server = await startExtraServer({ DATABASE_URL: url.toString(), LOG_LEVEL: "warn" });
    admin = new pg.Client({ connectionString: inject("databaseUrl") });
    observer = new pg.Client({ connectionString: inject("databaseUrl") });
    await Promise.all([admin.connect(), observer.connect()]);
    const acme = orgOf(manifest, "acme");
    orgId = acme.id;
    bearer = `Bearer ${tokenOf(manifest, "acme", "admin@acme.test")}`;
    const users = acme.members.filter((m) => /^user\d+@/.test(m.email)).map((m) => m.membershipId);
    batches = Array.from({ length: Math.floor(users.length / 4) }, (_, i) => users.slice(i * 4, i * 4 + 4));
  });

  afterAll(async () => {
    await Promise.all([admin?.end(), observer?.end()]);
    await server?.stop();
  });

  /** Terminates the server's backends; returns how many were terminated. */
  async function terminate(): Promise<number> {
    const { rows } = await observer.query(
      `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity
       WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name = $1`,
      [APP],
    );
    return rows.filter((r) => r.ok).length;
  }

  async function remove(surface: Surface, ids: string[]): Promise<Answer> {
    const rest = surface === "rest";
    const res = await sendRaw({
      base: server.url,
      method: rest ? "DELETE" : "POST",
      path: rest ? membershipsPath(orgId) : TRPC_BULK_DELETE_PATH,
      headers: { authorization: bearer, "content-type": "application/json" },
      body: JSON.stringify(rest ? { membershipIds: ids } : { organizationId: orgId, membershipIds: ids }),
      signal: AbortSignal.timeout(HUNG_MS),
    });
    return { surface, ids, status: res.status, body: res.body ?? res.text };
  }

  /** A 503 in the surface's error shape: REST's envelope, tRPC's error with the same name. */
  function expectUnavailable(a: Answer) {
    expect(a.status).toBe(503);
    if (a.surface === "rest") {
      expect(a.body).toEqual({
        reqId: expect.stringMatching(REQ_ID),
        statusCode: 503,
        message: MSG.unavailable,
        error: "ServiceUnavailable",
      });
    } else {
      expect(a.body).toMatchObject({
        error: {
          message: MSG.unavailable,
          data: { httpStatus: 503, error: "ServiceUnavailable", reqId: expect.stringMatching(REQ_ID) },
        },
      });
    }
  }

  /** Whether a batch was removed whole, with one audit event per membership, or not at all. */
  async function applied(ids: string[]): Promise<boolean> {
    const db = await testDb();
    const [left, audited] = await Promise.all([
      db.orgMembership.count({ where: { id: { in: ids } } }),
      db.auditEvent.count({ where: { targetId: { in: ids }, eventType: DELETED_EVENT } }),
    ]);
    if (left === 0 && audited === ids.length) return true;
    if (left === ids.length && audited === 0) return false;
    throw new Error(`batch ${ids.join(",")} is partial: ${left} memberships left, ${audited} audit events`);
  }

  /** Time from now until a removal answers 200 (each attempt bounded). */
  async function recovery(ids: string[]): Promise<{ ms: number; answers: Answer[] }> {
    const started = performance.now();
    const answers: Answer[] = [];
    for (;;) {
      const a = await remove("rest", ids);
      answers.push(a);
      if (a.status === 200) return { ms: performance.now() - started, answers };
      if (performance.now() - started > 30_000) return { ms: Number.POSITIVE_INFINITY, answers };
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  it("answers 503 to removals waiting on the database when it drops them, and removes nothing", async () => {
    const [held, viaRest, viaTrpc, after] = batches.splice(0, 4) as [string[], string[], string[], string[]];
    // The test locks the rows both removals target, so they wait on the database, in flight.
    await admin.query("BEGIN");
    try {
      await admin.query("SELECT id FROM org_memberships WHERE id = ANY($1::uuid[]) FOR UPDATE", [
        [...held, ...viaRest, ...viaTrpc],
      ]);
      const inFlight = [
        remove("rest", [...viaRest, held[0] as string]),
        remove("trpc", [...viaTrpc, held[1] as string]),
      ];
      const deadline = Date.now() + HUNG_MS;
      for (;;) {
        const { rows } = await observer.query(
          "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock'",
          [APP],
        );
        if (rows[0].n >= 2) break;
        if (Date.now() > deadline) throw new Error("the removals never reached the lock");
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(await terminate()).toBeGreaterThanOrEqual(2);
      const [rest, trpc] = await Promise.all(inFlight);
      expectUnavailable(rest as Answer);
      expectUnavailable(trpc as Answer);
    } finally {
      await admin.query("ROLLBACK");
    }
    expect(await applied([...viaRest, held[0] as string])).toBe(false);
    expect(await applied([...viaTrpc, held[1] as string])).toBe(false);

    // Serving again at once: the pool dropped the dead connections and opens new ones.
    const { ms, answers } = await recovery(after);
    console.info(`serving again ${Math.round(ms)} ms after the connections were terminated`);
    expect(ms).toBeLessThan(5000);
    for (const a of answers.slice(0, -1)) expectUnavailable(a);
    expect(await applied(after)).toBe(true);
  });

  it("under a stream of removals, every answer is 200 or 503 and every removal is whole or absent", async () => {
    const work = batches.splice(0, 36);
    const answers: Answer[] = [];
    let next = 0;
    const worker = async (surface: Surface) => {
      for (let i = next++; i < work.length; i = next++) answers.push(await remove(surface, work[i] as string[]));
    };
    const workers = [worker("rest"), worker("trpc"), worker("rest"), worker("trpc")];
    let terminated = 0;
    // Terminate the backends again and again while the removals run.
    while (next < work.length) {
      terminated += await terminate();
      await new Promise((r) => setTimeout(r, 400));
    }
    await Promise.all(workers);
    expect(terminated).toBeGreaterThan(0);
    expect(answers).toHaveLength(work.length);

    let unavailable = 0;
    for (const a of answers) {
      if (a.status === 200) {
        expect(await applied(a.ids)).toBe(true);
      } else {
        expectUnavailable(a);
        unavailable++;
        // A removal whose commit reached the database before its connection died is applied
        // whole; any other is absent. Either way, never partial (applied() throws).
        await applied(a.ids);
      }
    }
    console.info(
      `${answers.length} removals: ${answers.length - unavailable} answered 200, ${unavailable} answered 503; ${terminated} backends terminated`,
    );

    const { ms } = await recovery(batches.splice(0, 1)[0] as string[]);
    expect(ms).toBeLessThan(5000);
  });
});
