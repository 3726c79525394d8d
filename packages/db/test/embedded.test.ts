// The embedded database's loopback port: only a client that has the per-start password from the
// owner's lock file gets in, and a client that holds the one session idle in a transaction is
// cut off so that the others are served.
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { openDb } from "../src/client";
import {
  type EmbeddedServer,
  IDLE_IN_TRANSACTION_TIMEOUT_MS,
  lockPath,
  MAX_SHARED_NAMES,
  readLock,
  startEmbeddedServer,
} from "../src/embedded";

declare module "vitest" {
  export interface ProvidedContext {
    databaseUrl: string;
    databaseKind: "postgres" | "embedded";
  }
}

const withoutPassword = (url: string): string => {
  const u = new URL(url);
  u.password = "";
  return u.toString();
};

/** Connects, runs `SELECT 1`, disconnects; rejects with the server's error when refused. */
async function selectOne(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  client.on("error", () => {});
  try {
    await client.connect();
    return (await client.query<{ one: number }>("SELECT 1 AS one")).rows[0]?.one ?? 0;
  } finally {
    await client.end().catch(() => {});
  }
}

// Opening a PGlite data folder takes seconds, and much longer on a busy machine.
const SLOW = 600_000;

let tmp: string;
let dir: string;
let server: EmbeddedServer;

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), "roster-embedded-"));
  dir = path.join(tmp, "pglite");
  server = await startEmbeddedServer(dir);
}, SLOW);

afterAll(async () => {
  await server?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
}, SLOW);

describe("embedded database access", () => {
  it(
    "keeps a random password in the owner-only lock file, and nowhere else",
    async () => {
      const url = new URL(server.url);
      expect(url.password).toMatch(/^[A-Za-z0-9_-]{32}$/);
      expect(fs.statSync(lockPath(dir)).mode & 0o777).toBe(0o600);
      expect(readLock(dir)?.url).toBe(server.url);

      const other = await startEmbeddedServer("memory://");
      try {
        expect(new URL(other.url).password).not.toBe(url.password);
      } finally {
        await other.close();
      }
    },
    SLOW,
  );

  it("refuses a client that knows only the port, or a wrong password", async () => {
    await expect(selectOne(withoutPassword(server.url))).rejects.toMatchObject({
      code: "28P01",
      message: 'password authentication failed for user "postgres"',
    });
    const wrong = new URL(server.url);
    wrong.password = "not-the-password";
    await expect(selectOne(wrong.toString())).rejects.toMatchObject({ code: "28P01" });
  });

  it("serves a client with the password, and every client that finds it through the lock", async () => {
    await expect(selectOne(server.url)).resolves.toBe(1);
    // What npm run token and db:seed do while the server runs: find the owner in the lock file.
    const handle = await openDb({ kind: "embedded", dir });
    try {
      expect(handle.embedded).toBeNull();
      expect(handle.url).toBe(server.url);
      expect(await handle.prisma.$queryRawUnsafe("SELECT 1 AS one")).toEqual([{ one: 1 }]);
    } finally {
      await handle.close();
    }
  });

  it(
    "cuts a session left idle in a transaction, rolls it back and serves the next client",
    async () => {
      const idle = new pg.Client({ connectionString: server.url });
      const errors: Error[] = [];
      idle.on("error", (err) => errors.push(err));
      await idle.connect();
      await idle.query("CREATE TABLE idle_probe (n int)");
      await idle.query("BEGIN");
      await idle.query("INSERT INTO idle_probe VALUES (1)");
      // The idle client now holds the only session; this one waits for it to be cut.
      const waiting = new pg.Client({ connectionString: server.url });
      await waiting.connect();
      const { rows } = await waiting.query<{ n: number }>("SELECT count(*)::int AS n FROM idle_probe");
      expect(rows).toEqual([{ n: 0 }]);
      await waiting.end();

      expect(errors.map((e) => e.message)).toContain("terminating connection due to idle-in-transaction timeout");
      await expect(idle.query("SELECT 1")).rejects.toThrow();
      await expect(selectOne(server.url)).resolves.toBe(1);
    },
    IDLE_IN_TRANSACTION_TIMEOUT_MS * 6,
  );

  it.runIf(inject("databaseKind") === "embedded")("guards the test run's own embedded database too", async () => {
    await expect(selectOne(withoutPassword(inject("databaseUrl")))).rejects.toMatchObject({ code: "28P01" });
    await expect(selectOne(inject("databaseUrl"))).resolves.toBe(1);
  });
});

describe("prepared statements on the embedded database's one session", () => {
  const shared = (text: string) => `roster_${createHash("sha256").update(text).digest("hex").slice(0, 24)}`;

  it("lets every client prepare a statement named by its text; other names still collide", async () => {
    const text = "SELECT $1::int + 1 AS n";
    const name = shared(text);
    const clients = Array.from({ length: 3 }, () => new pg.Client({ connectionString: server.url }));
    try {
      for (const c of clients) await c.connect();
      // Each client parses the name once (pg remembers it per connection), then only binds it.
      for (const [i, c] of clients.entries()) {
        for (let k = 0; k < 3; k++) {
          const { rows } = await c.query({ name, text, values: [i * 10 + k] });
          expect(rows).toEqual([{ n: i * 10 + k + 1 }]);
        }
      }
      // Inside another client's transaction the name is still there for it.
      const [a, b] = clients as [pg.Client, pg.Client];
      await a.query("BEGIN");
      await expect(a.query({ name, text, values: [41] })).resolves.toMatchObject({ rows: [{ n: 42 }] });
      await a.query("COMMIT");
      await expect(b.query({ name, text, values: [1] })).resolves.toMatchObject({ rows: [{ n: 2 }] });

      // A name that is not a hash of its text is the client's own: a second client's Parse fails as in PostgreSQL.
      const fresh = new pg.Client({ connectionString: server.url });
      await fresh.connect();
      try {
        await a.query({ name: "mine", text: "SELECT 1 AS n", values: [] });
        await expect(fresh.query({ name: "mine", text: "SELECT 1 AS n", values: [] })).rejects.toMatchObject({
          code: "42P05",
        });
        // A statement that does not parse is not remembered: every client gets its error.
        const bad = "SELECT FROM WHERE $1";
        await expect(a.query({ name: shared(bad), text: bad, values: [1] })).rejects.toMatchObject({ code: "42601" });
        await expect(fresh.query({ name: shared(bad), text: bad, values: [1] })).rejects.toMatchObject({
          code: "42601",
        });
        await expect(fresh.query({ name, text, values: [7] })).resolves.toMatchObject({ rows: [{ n: 8 }] });
      } finally {
        await fresh.end();
      }
    } finally {
      await Promise.all(clients.map((c) => c.end().catch(() => {})));
    }
  });

  it("keeps at most MAX_SHARED_NAMES shared names; past them a name is one client's, as in PostgreSQL", async () => {
    // A server of its own: the names the other tests shared count against the bound too.
    const own = await startEmbeddedServer("memory://shared-names");
    const a = new pg.Client({ connectionString: own.url });
    const b = new pg.Client({ connectionString: own.url });
    try {
      await a.connect();
      await b.connect();
      for (let k = 0; k <= MAX_SHARED_NAMES; k++) {
        const text = `SELECT $1::int + ${k} AS n`;
        await a.query({ name: shared(text), text, values: [1] });
      }
      const kept = `SELECT $1::int + ${MAX_SHARED_NAMES - 1} AS n`;
      await expect(b.query({ name: shared(kept), text: kept, values: [1] })).resolves.toMatchObject({
        rows: [{ n: MAX_SHARED_NAMES }],
      });
      const past = `SELECT $1::int + ${MAX_SHARED_NAMES} AS n`;
      await expect(b.query({ name: shared(past), text: past, values: [1] })).rejects.toMatchObject({ code: "42P05" });
    } finally {
      await Promise.all([a.end().catch(() => {}), b.end().catch(() => {})]);
      await own.close();
    }
  }, 120_000);
});
