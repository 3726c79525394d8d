// loadConfig with injected environments: defaults, every refusal naming its variable in one line,
// and the development secret generated once. Plus the real start-up refusing production without
// AUTH_SECRET.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfig, repoRoot, trustProxySetting } from "../src/index";
import { freePort } from "../src/net";

const SECRET = "s".repeat(32);
const tempDirs: string[] = [];

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "roster-config-"));
  tempDirs.push(dir);
  return dir;
}

afterAll(() => {
  for (const dir of tempDirs) fs.rmSync(dir, { recursive: true, force: true });
});

/** A log that must stay silent unless a test expects a line. */
function lines() {
  const said: string[] = [];
  return { said, log: (line: string) => said.push(line) };
}

/** The one-line refusal loadConfig gives for `env`. */
function refusal(env: Record<string, string | undefined>): string {
  const { said, log } = lines();
  let thrown: unknown;
  try {
    loadConfig({ PGLITE_DIR: path.join(tempDir(), "pglite"), ...env }, log);
  } catch (err) {
    thrown = err;
  }
  expect(thrown).toBeInstanceOf(ConfigError);
  const message = (thrown as ConfigError).message;
  expect(message).not.toMatch(/[\r\n]/);
  expect(said).toEqual([]);
  return message;
}

describe("loadConfig", () => {
  it("has defaults: port 3000, 1000 ids, the embedded database under the repository", () => {
    const { said, log } = lines();
    const config = loadConfig({ AUTH_SECRET: SECRET }, log, false);
    const root = repoRoot();
    expect(config).toEqual({
      nodeEnv: "development",
      database: { kind: "embedded", dir: path.join(root, ".data", "pglite") },
      dataDir: path.join(root, ".data"),
      authSecret: SECRET,
      nextAuthUrl: undefined,
      port: 3000,
      trustProxy: { kind: "none" },
      maxBulkDelete: 1000,
      restoreWindowDays: 7,
      rateLimit: { writesPerMinute: 1200, readsPerMinute: 3000 },
      logLevel: "info",
      logFormat: "json",
      redisUrl: undefined,
      redisKeyPrefix: "roster:",
      metricsToken: undefined,
    });
    expect(said).toEqual([]);
  });

  it("puts the embedded database in PGLITE_DIR and treats empty values as unset", () => {
    const dir = tempDir();
    const config = loadConfig(
      { AUTH_SECRET: SECRET, PGLITE_DIR: path.join(dir, "db"), PORT: "", MAX_BULK_DELETE: "", DATABASE_URL: " " },
      lines().log,
    );
    expect(config.database).toEqual({ kind: "embedded", dir: path.join(dir, "db") });
    expect(config.dataDir).toBe(dir);
    expect(config.port).toBe(3000);
    expect(config.maxBulkDelete).toBe(1000);
  });

  it("takes METRICS_TOKEN of 32 characters or more, and treats an empty one as unset", () => {
    const token = "m".repeat(32);
    expect(loadConfig({ AUTH_SECRET: SECRET, METRICS_TOKEN: token }, lines().log).metricsToken).toBe(token);
    expect(loadConfig({ AUTH_SECRET: SECRET, METRICS_TOKEN: "" }, lines().log).metricsToken).toBeUndefined();
  });

  it("takes the settings it is given", () => {
    const config = loadConfig(
      {
        AUTH_SECRET: SECRET,
        NODE_ENV: "production",
        PORT: "8080",
        MAX_BULK_DELETE: "50",
        RESTORE_WINDOW_DAYS: "0",
        LOG_LEVEL: "debug",
        NEXTAUTH_URL: "https://roster.example.com",
      },
      lines().log,
    );
    expect(config).toMatchObject({
      nodeEnv: "production",
      port: 8080,
      maxBulkDelete: 50,
      restoreWindowDays: 0,
      logLevel: "debug",
      nextAuthUrl: "https://roster.example.com",
    });
  });

  it.each([
    ["1", { kind: "hops", hops: 1 }],
    [" 2 ", { kind: "hops", hops: 2 }],
    ["32", { kind: "hops", hops: 32 }],
    ["false", { kind: "none" }],
    ["0", { kind: "none" }],
    ["", { kind: "none" }],
    ["10.0.0.0/8", { kind: "addresses", ranges: ["10.0.0.0/8"] }],
    [
      "10.0.0.0/8, 127.0.0.1,::1,fd00::/8",
      { kind: "addresses", ranges: ["10.0.0.0/8", "127.0.0.1", "::1", "fd00::/8"] },
    ],
    ["loopback,uniquelocal", { kind: "addresses", ranges: ["loopback", "uniquelocal"] }],
  ])("reads TRUST_PROXY=%j as %j", (value, expected) => {
    const config = loadConfig({ AUTH_SECRET: SECRET, TRUST_PROXY: value }, lines().log);
    expect(config.trustProxy).toEqual(expected);
    // Handed on to a child process, the setting reads back the same.
    expect(loadConfig({ AUTH_SECRET: SECRET, TRUST_PROXY: trustProxySetting(config.trustProxy) }).trustProxy).toEqual(
      expected,
    );
  });

  it.each([
    [undefined, false, "json"],
    [undefined, true, "pretty"],
    ["", true, "pretty"],
    ["json", true, "json"],
    ["pretty", false, "pretty"],
  ] as const)("reads LOG_FORMAT=%j with a terminal %s as %s", (value, tty, expected) => {
    expect(loadConfig({ AUTH_SECRET: SECRET, LOG_FORMAT: value }, lines().log, tty).logFormat).toBe(expected);
  });

  it.each(["postgres://roster@db.internal:5432/roster", "postgresql://u:p@127.0.0.1/test?sslmode=disable"])(
    "uses PostgreSQL for DATABASE_URL %s",
    (url) => {
      const config = loadConfig({ AUTH_SECRET: SECRET, DATABASE_URL: url }, lines().log);
      expect(config.database).toEqual({ kind: "postgres", url, preparedStatements: true });
    },
  );

  it.each([
    ["off", false],
    ["on", true],
    ["", true],
  ] as const)("reads DATABASE_PREPARED_STATEMENTS=%j as %s", (value, expected) => {
    const config = loadConfig(
      { AUTH_SECRET: SECRET, DATABASE_URL: "postgres://roster@db/roster", DATABASE_PREPARED_STATEMENTS: value },
      lines().log,
    );
    expect(config.database).toMatchObject({ preparedStatements: expected });
  });

  it("refuses a DATABASE_PREPARED_STATEMENTS other than on or off", () => {
    expect(() =>
      loadConfig({
        AUTH_SECRET: SECRET,
        DATABASE_URL: "postgres://roster@db/roster",
        DATABASE_PREPARED_STATEMENTS: "yes",
      }),
    ).toThrow("DATABASE_PREPARED_STATEMENTS must be on or off");
  });

  it("keeps throttle counts in REDIS_URL under REDIS_KEY_PREFIX", () => {
    const config = loadConfig(
      { AUTH_SECRET: SECRET, REDIS_URL: "redis://:pw@cache.internal:6380/2", REDIS_KEY_PREFIX: "roster-eu:" },
      lines().log,
    );
    expect(config).toMatchObject({ redisUrl: "redis://:pw@cache.internal:6380/2", redisKeyPrefix: "roster-eu:" });
    expect(loadConfig({ AUTH_SECRET: SECRET, REDIS_URL: " " }, lines().log).redisUrl).toBeUndefined();
  });

  it("takes the rate limit budgets, 0 turning one off", () => {
    const config = loadConfig(
      { AUTH_SECRET: SECRET, RATE_LIMIT_WRITES_PER_MINUTE: " 0 ", RATE_LIMIT_READS_PER_MINUTE: "25" },
      lines().log,
    );
    expect(config.rateLimit).toEqual({ writesPerMinute: 0, readsPerMinute: 25 });
  });

  it.each([
    {
      name: "RATE_LIMIT_WRITES_PER_MINUTE 1.5",
      env: { RATE_LIMIT_WRITES_PER_MINUTE: "1.5" },
      variable: "RATE_LIMIT_WRITES_PER_MINUTE",
      detail: /1\.5/,
    },
    {
      name: "RATE_LIMIT_READS_PER_MINUTE -3",
      env: { RATE_LIMIT_READS_PER_MINUTE: "-3" },
      variable: "RATE_LIMIT_READS_PER_MINUTE",
      detail: /-3/,
    },
    {
      name: "RATE_LIMIT_READS_PER_MINUTE too large",
      env: { RATE_LIMIT_READS_PER_MINUTE: "1000001" },
      variable: "RATE_LIMIT_READS_PER_MINUTE",
      detail: /between 0 and 1000000/,
    },
    {
      name: "an http:// REDIS_URL",
      env: { REDIS_URL: "http://localhost:6379" },
      variable: "REDIS_URL",
      detail: /redis:\/\//,
    },
    {
      name: "a REDIS_URL that is not a URL",
      env: { REDIS_URL: "localhost" },
      variable: "REDIS_URL",
      detail: /not a URL/,
    },
    {
      name: "a REDIS_KEY_PREFIX with a space",
      env: { REDIS_KEY_PREFIX: "roster prod" },
      variable: "REDIS_KEY_PREFIX",
      detail: /letters, digits/,
    },
    {
      name: "a mysql:// DATABASE_URL",
      env: { DATABASE_URL: "mysql://root@localhost/roster" },
      variable: "DATABASE_URL",
      detail: /postgres/,
    },
    {
      name: "a DATABASE_URL that is not a URL",
      env: { DATABASE_URL: "not a url" },
      variable: "DATABASE_URL",
      detail: /not a URL/,
    },
    { name: 'PORT "abc"', env: { PORT: "abc" }, variable: "PORT", detail: /"abc"/ },
    { name: 'PORT "70000"', env: { PORT: "70000" }, variable: "PORT", detail: /70000/ },
    { name: 'PORT "-1"', env: { PORT: "-1" }, variable: "PORT", detail: /-1/ },
    { name: "MAX_BULK_DELETE 0", env: { MAX_BULK_DELETE: "0" }, variable: "MAX_BULK_DELETE", detail: /got 0/ },
    { name: "MAX_BULK_DELETE 1.5", env: { MAX_BULK_DELETE: "1.5" }, variable: "MAX_BULK_DELETE", detail: /1\.5/ },
    {
      name: "RESTORE_WINDOW_DAYS -1",
      env: { RESTORE_WINDOW_DAYS: "-1" },
      variable: "RESTORE_WINDOW_DAYS",
      detail: /-1/,
    },
    {
      name: "RESTORE_WINDOW_DAYS 4000",
      env: { RESTORE_WINDOW_DAYS: "4000" },
      variable: "RESTORE_WINDOW_DAYS",
      detail: /got 4000/,
    },
    {
      name: 'TRUST_PROXY "maybe"',
      env: { TRUST_PROXY: "maybe" },
      variable: "TRUST_PROXY",
      detail: /"maybe" is not an IP/,
    },
    // Trusting every hop would believe the leftmost address, which the client writes.
    { name: 'TRUST_PROXY "true"', env: { TRUST_PROXY: "true" }, variable: "TRUST_PROXY", detail: /number of proxies/ },
    { name: 'TRUST_PROXY "33"', env: { TRUST_PROXY: "33" }, variable: "TRUST_PROXY", detail: /at most 32/ },
    { name: 'TRUST_PROXY "1.5"', env: { TRUST_PROXY: "1.5" }, variable: "TRUST_PROXY", detail: /"1.5"/ },
    { name: 'TRUST_PROXY "-1"', env: { TRUST_PROXY: "-1" }, variable: "TRUST_PROXY", detail: /"-1"/ },
    {
      name: "TRUST_PROXY with a bad prefix",
      env: { TRUST_PROXY: "10.0.0.0/33" },
      variable: "TRUST_PROXY",
      detail: /"10.0.0.0\/33"/,
    },
    {
      name: "TRUST_PROXY with an empty entry",
      env: { TRUST_PROXY: "10.0.0.1,,10.0.0.2" },
      variable: "TRUST_PROXY",
      detail: /""/,
    },
    {
      name: "TRUST_PROXY with too many entries",
      env: { TRUST_PROXY: Array.from({ length: 65 }, (_, i) => `10.0.0.${i}`).join(",") },
      variable: "TRUST_PROXY",
      detail: /more than 64/,
    },
    { name: 'LOG_FORMAT "text"', env: { LOG_FORMAT: "text" }, variable: "LOG_FORMAT", detail: /json or pretty/ },
    {
      name: "an AUTH_SECRET under 32 characters",
      env: { AUTH_SECRET: "too-short" },
      variable: "AUTH_SECRET",
      detail: /32/,
    },
    {
      name: "a METRICS_TOKEN under 32 characters",
      env: { METRICS_TOKEN: "a".repeat(31) },
      variable: "METRICS_TOKEN",
      detail: /32/,
    },
    {
      name: "a METRICS_TOKEN with a space",
      env: { METRICS_TOKEN: `${"a".repeat(20)} ${"b".repeat(20)}` },
      variable: "METRICS_TOKEN",
      detail: /without spaces/,
    },
    { name: "an unknown NODE_ENV", env: { NODE_ENV: "staging" }, variable: "NODE_ENV", detail: /./ },
    {
      name: "production without AUTH_SECRET",
      env: { NODE_ENV: "production", AUTH_SECRET: undefined },
      variable: "AUTH_SECRET",
      detail: /production/,
    },
    {
      name: "production with an empty AUTH_SECRET",
      env: { NODE_ENV: "production", AUTH_SECRET: "" },
      variable: "AUTH_SECRET",
      detail: /production/,
    },
  ])("refuses $name in one line naming $variable", ({ env, variable, detail }) => {
    const message = refusal({ AUTH_SECRET: SECRET, ...env });
    expect(message).toMatch(/^Invalid configuration: /);
    expect(message).toContain(variable);
    expect(message).toMatch(detail);
  });

  it("refuses production without AUTH_SECRET and writes no secret file", () => {
    const dir = tempDir();
    expect(() => loadConfig({ NODE_ENV: "production", PGLITE_DIR: path.join(dir, "pglite") }, lines().log)).toThrow(
      /AUTH_SECRET/,
    );
    expect(fs.existsSync(path.join(dir, "auth-secret"))).toBe(false);
  });

  it("generates a development secret once, says so in one line, and reuses it", () => {
    const dir = path.join(tempDir(), "data");
    const env = { PGLITE_DIR: path.join(dir, "pglite") };
    const first = lines();
    const config = loadConfig(env, first.log);
    const file = path.join(dir, "auth-secret");

    expect(config.dataDir).toBe(dir);
    expect(config.authSecret.length).toBeGreaterThanOrEqual(32);
    expect(fs.readFileSync(file, "utf8").trim()).toBe(config.authSecret);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(first.said).toHaveLength(1);
    expect(first.said[0]).not.toMatch(/[\r\n]/);
    expect(first.said[0]).toContain("AUTH_SECRET");
    expect(first.said[0]).toContain(file);
    expect(first.said[0]).not.toContain(config.authSecret);

    const second = lines();
    expect(loadConfig(env, second.log).authSecret).toBe(config.authSecret);
    expect(loadConfig({ ...env, NODE_ENV: "test" }, second.log).authSecret).toBe(config.authSecret);
    expect(second.said).toEqual([]);
  });

  it("prefers AUTH_SECRET over a generated one", () => {
    const dir = tempDir();
    const env = { PGLITE_DIR: path.join(dir, "pglite") };
    const generated = loadConfig(env, lines().log).authSecret;
    expect(loadConfig({ ...env, AUTH_SECRET: SECRET }, lines().log).authSecret).toBe(SECRET);
    expect(generated).not.toBe(SECRET);
  });
});

describe("npm start", () => {
  it("exits 1 at once in production without AUTH_SECRET, with one line naming it", async () => {
    const dir = tempDir();
    const env: Record<string, string | undefined> = {
      ...process.env,
      NODE_ENV: "production",
      PORT: String(await freePort()),
      // nowhere near the run's database or the repository's data folder, should it get that far
      PGLITE_DIR: path.join(dir, "pglite"),
      NO_COLOR: "1",
    };
    delete env.AUTH_SECRET;
    delete env.DATABASE_URL;
    delete env.NEXTAUTH_URL;

    const started = Date.now();
    const result = spawnSync("npx", ["tsx", "apps/web/scripts/start.ts"], {
      cwd: repoRoot(),
      env,
      encoding: "utf8",
      timeout: 60_000,
    });
    const elapsed = Date.now() - started;

    expect(result.error).toBeUndefined();
    expect(result.signal).toBeNull();
    expect(result.status).toBe(1);
    const stderr = result.stderr.trim().split("\n");
    expect(stderr).toHaveLength(1);
    expect(stderr[0]).toContain("AUTH_SECRET");
    expect(stderr[0]).toMatch(/production/);
    expect(result.stdout.trim()).toBe("");
    expect(elapsed).toBeLessThan(60_000);
    expect(fs.readdirSync(dir)).toEqual([]);
  }, 70_000);
});
