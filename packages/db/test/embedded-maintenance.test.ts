// The embedded database has no autovacuum; its owner vacuums and analyses what PostgreSQL's
// autovacuum would, by the same thresholds, as a client of its own server (waiting its turn
// behind an open transaction), every interval.
import pg from "pg";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type EmbeddedServer, startEmbeddedServer } from "../src/embedded";
import {
  AUTOVACUUM,
  MAINTENANCE_MAX_DEFERRALS,
  type MaintenanceAction,
  type MaintenanceReport,
  maintainEmbedded,
} from "../src/embedded-maintenance";

const SLOW = 600_000;

async function connect(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  client.on("error", () => {});
  await client.connect();
  return client;
}

/** A table's statistics as the maintenance reads them (flushed first). */
async function stats(client: pg.Client, table: string) {
  await client.query("SELECT pg_stat_force_next_flush()");
  const { rows } = await client.query<{ dead: number; modified: number; vacuumed: boolean; analysed: boolean }>(
    `SELECT n_dead_tup::int AS dead, n_mod_since_analyze::int AS modified,
            last_vacuum IS NOT NULL AS vacuumed, last_analyze IS NOT NULL AS analysed
       FROM pg_stat_user_tables WHERE relname = $1`,
    [table],
  );
  return rows[0];
}

const withoutMs = (actions: MaintenanceAction[]) => actions.map(({ ms, ...rest }) => rest);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("the embedded database's maintenance", () => {
  let server: EmbeddedServer;
  let client: pg.Client;
  beforeAll(async () => {
    // Its own schedule is off here: each pass is run by the test.
    server = await startEmbeddedServer("memory://maintenance", { maintenanceIntervalMs: 0 });
    client = await connect(server.url);
  }, SLOW);
  afterAll(async () => {
    await client?.end();
    await server?.close();
  }, SLOW);

  it("vacuums and analyses a table past autovacuum's thresholds, and then has nothing to do", async () => {
    await client.query("CREATE TABLE churn (id int PRIMARY KEY, v text)");
    await client.query("INSERT INTO churn SELECT g, 'v' || g FROM generate_series(1, 5000) g");
    await stats(client, "churn");
    await client.query("ANALYZE churn"); // 5000 rows known: the thresholds are 1050 dead, 550 changed
    await client.query("DELETE FROM churn WHERE id <= 1200");
    expect(await stats(client, "churn")).toMatchObject({ dead: 1200 });

    expect(withoutMs(await maintainEmbedded(client))).toEqual([{ table: "churn", vacuum: true, analyze: true }]);
    expect(await stats(client, "churn")).toEqual({ dead: 0, modified: 0, vacuumed: true, analysed: true });
    expect(await maintainEmbedded(client)).toEqual([]);
  });

  it("leaves a table under the thresholds, analyses one changed enough for that alone", async () => {
    await client.query("CREATE TABLE quiet (id int PRIMARY KEY, v text)");
    await client.query("INSERT INTO quiet SELECT g, 'v' || g FROM generate_series(1, 10000) g");
    await stats(client, "quiet"); // the inserts counted before the vacuum, which zeroes them
    await client.query("VACUUM ANALYZE quiet"); // 10000 rows: vacuum past 2050 dead, analyze past 1050 changed
    await client.query("UPDATE quiet SET v = 'w' WHERE id <= 40");
    expect(await maintainEmbedded(client)).toEqual([]);
    await client.query("UPDATE quiet SET v = 'w' WHERE id <= 1500");
    const actions: MaintenanceAction[] = await maintainEmbedded(client);
    expect(withoutMs(actions)).toEqual([{ table: "quiet", vacuum: false, analyze: true }]);
    expect((await stats(client, "quiet"))?.modified).toBe(0);
  });

  it("with maxTables, does the table furthest past its thresholds first", async () => {
    await client.query("CREATE TABLE little (id int PRIMARY KEY)");
    await client.query("CREATE TABLE much (id int PRIMARY KEY)");
    await client.query("INSERT INTO little SELECT g FROM generate_series(1, 100) g");
    await client.query("INSERT INTO much SELECT g FROM generate_series(1, 3000) g");
    expect(withoutMs(await maintainEmbedded(client, { maxTables: 1 }))).toEqual([
      { table: "much", vacuum: true, analyze: true },
    ]);
    expect(withoutMs(await maintainEmbedded(client, { maxTables: 1 }))).toEqual([
      { table: "little", vacuum: false, analyze: true },
    ]);
    expect(await maintainEmbedded(client, { maxTables: 1 })).toEqual([]);
  });

  it("vacuums a table that only grows, once its inserts pass the insert threshold", async () => {
    await client.query("CREATE TABLE appended (id int PRIMARY KEY)");
    await client.query(`INSERT INTO appended SELECT g FROM generate_series(1, ${AUTOVACUUM.insertThreshold - 100}) g`);
    // Not yet past 1000 inserted, but past 50 changed: analysed only.
    expect(withoutMs(await maintainEmbedded(client))).toEqual([{ table: "appended", vacuum: false, analyze: true }]);
    await client.query("INSERT INTO appended SELECT g FROM generate_series(100000, 102000) g");
    expect(withoutMs(await maintainEmbedded(client))).toEqual([{ table: "appended", vacuum: true, analyze: true }]);
  });
});

describe("the embedded database's maintenance on its schedule", () => {
  let server: EmbeddedServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  }, SLOW);

  /** A server in memory with a pass due every 100 ms, its reports, and a client of it. */
  async function scheduled(name: string) {
    const reports: Parameters<MaintenanceReport>[0][] = [];
    server = await startEmbeddedServer(`memory://${name}`, {
      maintenanceIntervalMs: 100,
      onMaintenance: (event) => reports.push(event),
    });
    return { reports, client: await connect(server.url) };
  }

  it(
    "runs every interval as a client of its own server, after an open transaction, and stops with the server",
    async () => {
      const { reports, client } = await scheduled("scheduled");
      try {
        await client.query("CREATE TABLE churn (id int PRIMARY KEY, v text)");
        // An open transaction holds the one session: the passes wait for it.
        await client.query("BEGIN");
        await client.query("INSERT INTO churn SELECT g, 'v' || g FROM generate_series(1, 3000) g");
        await new Promise((resolve) => setTimeout(resolve, 600));
        expect(reports).toEqual([]);
        await client.query("COMMIT");
        const deadline = Date.now() + 30_000;
        while (reports.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        expect(reports[0]).toMatchObject({ actions: [{ table: "churn", vacuum: true, analyze: true }] });
        expect((reports[0] as { actions: MaintenanceAction[] }).actions[0]?.ms).toBeGreaterThanOrEqual(0);
        expect(await stats(client, "churn")).toMatchObject({ vacuumed: true, analysed: true });
      } finally {
        await client.end();
      }
      await server?.close();
      const after = reports.length;
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(reports.length).toBe(after);
      expect(reports.filter((r) => "error" in r)).toEqual([]);
    },
    SLOW,
  );

  it(
    `waits for the database to be idle, but not more than ${MAINTENANCE_MAX_DEFERRALS} passes`,
    async () => {
      const { reports, client } = await scheduled("busy");
      try {
        await client.query("CREATE TABLE churn (id int PRIMARY KEY)");
        await client.query("INSERT INTO churn SELECT g FROM generate_series(1, 3000) g");
        // Busy: a statement every 50 ms. In 600 ms at most six passes come due, each deferred.
        const started = Date.now();
        while (reports.length === 0 && Date.now() - started < 30_000) {
          await client.query("SELECT 1");
          if (Date.now() - started < 600) expect(reports).toEqual([]);
          await sleep(50);
        }
        const firstAt = Date.now() - started;
        // The tenth pass runs whatever: the loop ended on its report, not on its deadline.
        expect(reports[0]).toMatchObject({ actions: [{ table: "churn", vacuum: true, analyze: true }] });
        expect(firstAt).toBeLessThan(30_000);
      } finally {
        await client.end();
      }
    },
    SLOW,
  );
});
