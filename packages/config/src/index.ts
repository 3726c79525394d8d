// The only reader of the environment. Every setting is validated here, once; a bad or missing
// value stops start-up with one line naming the variable and what is wrong.
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import proxyaddr from "proxy-addr";
import { z } from "zod";

export class ConfigError extends Error {
  override name = "ConfigError";
}

const intFrom = (name: string, def: number, min: number, max: number) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v === "") return def;
      if (!/^\d+$/.test(v.trim())) {
        ctx.addIssue({ code: "custom", message: `${name} must be a whole number, got "${v}"` });
        return z.NEVER;
      }
      const n = Number(v);
      if (n < min || n > max) {
        ctx.addIssue({ code: "custom", message: `${name} must be between ${min} and ${max}, got ${n}` });
        return z.NEVER;
      }
      return n;
    });

/** An optional URL setting that must use one of two schemes (blank counts as unset). */
function serviceUrl(name: string, schemes: [string, string]) {
  return z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === "") return undefined;
      let url: URL;
      try {
        url = new URL(v);
      } catch {
        ctx.addIssue({ code: "custom", message: `${name} is not a URL` });
        return z.NEVER;
      }
      if (!schemes.some((scheme) => url.protocol === `${scheme}:`)) {
        ctx.addIssue({
          code: "custom",
          message: `${name} must be a ${schemes[0]}:// or ${schemes[1]}:// URL, got ${url.protocol}//`,
        });
        return z.NEVER;
      }
      return v;
    });
}

const postgresUrl = serviceUrl("DATABASE_URL", ["postgres", "postgresql"]);
const redisUrl = serviceUrl("REDIS_URL", ["redis", "rediss"]);

const EnvSchema = z.object({
  NODE_ENV: z.enum(["development", "production", "test"]).optional().default("development"),
  DATABASE_URL: postgresUrl,
  PGLITE_DIR: z.string().optional(),
  AUTH_SECRET: z
    .string()
    .optional()
    .refine((v) => v === undefined || v === "" || v.length >= 32, "AUTH_SECRET must be at least 32 characters"),
  NEXTAUTH_URL: z
    .string()
    .optional()
    .refine((v) => v === undefined || v === "" || URL.canParse(v), "NEXTAUTH_URL must be an absolute URL"),
  PORT: intFrom("PORT", 3000, 0, 65535),
  MAX_BULK_DELETE: intFrom("MAX_BULK_DELETE", 1000, 1, 100000),
  RESTORE_WINDOW_DAYS: intFrom("RESTORE_WINDOW_DAYS", 7, 0, 3650),
  RATE_LIMIT_WRITES_PER_MINUTE: intFrom("RATE_LIMIT_WRITES_PER_MINUTE", 1200, 0, 1_000_000),
  RATE_LIMIT_READS_PER_MINUTE: intFrom("RATE_LIMIT_READS_PER_MINUTE", 3000, 0, 1_000_000),
  TRUST_PROXY: z.string().optional().transform(parseTrustProxy),
  DATABASE_PREPARED_STATEMENTS: z
    .enum(["on", "off", ""], { message: "DATABASE_PREPARED_STATEMENTS must be on or off" })
    .optional()
    .transform((v) => v !== "off"),
  REDIS_URL: redisUrl,
  REDIS_KEY_PREFIX: z
    .string()
    .optional()
    .refine(
      (v) => v === undefined || v === "" || /^[A-Za-z0-9:_.-]{1,64}$/.test(v),
      "REDIS_KEY_PREFIX must be 1 to 64 letters, digits or : _ . -",
    ),
  METRICS_TOKEN: z
    .string()
    .optional()
    .refine(
      (v) => v === undefined || v === "" || (v.length >= 32 && v.length <= 512 && /^[\x21-\x7e]+$/.test(v)),
      "METRICS_TOKEN must be 32 to 512 printable characters without spaces (e.g. `openssl rand -hex 32`)",
    ),
  LOG_LEVEL: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).optional().default("info"),
  LOG_FORMAT: z
    .enum(["json", "pretty", ""], { message: "LOG_FORMAT must be json or pretty" })
    .optional()
    .transform((v) => v || undefined),
});

/**
 * Which proxies may vouch for X-Forwarded-For. Proxies append the address they received the
 * request from, so the client is found from the right: past the `hops` nearest proxies (the
 * connection's peer counts as the first), or past every address in `ranges`.
 */
export type TrustProxy = { kind: "none" } | { kind: "hops"; hops: number } | { kind: "addresses"; ranges: string[] };

const MAX_PROXY_HOPS = 32;
const MAX_PROXY_RANGES = 64;
const TRUST_PROXY_USAGE =
  "the number of proxies in front of Roster (e.g. 1), or their addresses or CIDRs separated by commas (e.g. 10.0.0.0/8,127.0.0.1), or false";

function parseTrustProxy(value: string | undefined, ctx: z.RefinementCtx): TrustProxy {
  const v = (value ?? "").trim();
  if (v === "" || v === "false" || v === "0") return { kind: "none" };
  if (/^\d+$/.test(v)) {
    const hops = Number(v);
    if (hops > MAX_PROXY_HOPS) {
      ctx.addIssue({ code: "custom", message: `TRUST_PROXY must be at most ${MAX_PROXY_HOPS} proxies, got ${v}` });
      return z.NEVER;
    }
    return { kind: "hops", hops };
  }
  if (v === "true") {
    // Trusting every hop means believing the leftmost address, which the client itself writes.
    ctx.addIssue({
      code: "custom",
      message: `TRUST_PROXY=true would believe any address a client writes: give ${TRUST_PROXY_USAGE}`,
    });
    return z.NEVER;
  }
  const ranges = v.split(",").map((r) => r.trim());
  if (ranges.length > MAX_PROXY_RANGES) {
    ctx.addIssue({ code: "custom", message: `TRUST_PROXY lists more than ${MAX_PROXY_RANGES} addresses` });
    return z.NEVER;
  }
  for (const range of ranges) {
    try {
      // The same parser that later matches the addresses: what passes here is what is trusted.
      proxyaddr.compile(range);
    } catch {
      ctx.addIssue({
        code: "custom",
        message: `TRUST_PROXY: ${JSON.stringify(range.slice(0, 64))} is not an IP address or CIDR; give ${TRUST_PROXY_USAGE}`,
      });
      return z.NEVER;
    }
  }
  return { kind: "addresses", ranges };
}

/** The TRUST_PROXY value that reads back as `trust` (to hand the setting on to a child process). */
export function trustProxySetting(trust: TrustProxy): string {
  if (trust.kind === "hops") return String(trust.hops);
  if (trust.kind === "addresses") return trust.ranges.join(",");
  return "false";
}

export type DatabaseConfig =
  /**
   * `preparedStatements` (DATABASE_PREPARED_STATEMENTS, default on; off when not given): the statements marked for it (see @roster/db's PREPARED) are sent as
   * named prepared statements, planned once per connection. Off behind a pooler in transaction
   * mode that does not track them (PgBouncer before 1.21).
   */
  { kind: "postgres"; url: string; preparedStatements?: boolean } | { kind: "embedded"; dir: string };

export interface Config {
  nodeEnv: "development" | "production" | "test";
  database: DatabaseConfig;
  /** The folder holding the embedded database and the generated development secret. */
  dataDir: string;
  authSecret: string;
  nextAuthUrl: string | undefined;
  port: number;
  maxBulkDelete: number;
  /** Days a removal can be restored (its snapshots are kept that long; 0 keeps none). */
  restoreWindowDays: number;
  /** Requests per minute and caller, for writes (mutations, POST/DELETE) and reads (queries, GET); 0: no limit. */
  rateLimit: { writesPerMinute: number; readsPerMinute: number };
  /** Which proxies in front may vouch for X-Forwarded-For (none: the connection's peer is the client). */
  trustProxy: TrustProxy;
  logLevel: z.infer<typeof EnvSchema>["LOG_LEVEL"];
  /** Request logs: one JSON line each, or a readable line for a person at a terminal. */
  logFormat: "json" | "pretty";
  /** Where the sign-in throttles keep their counts, shared by every instance; unset: process memory. */
  redisUrl: string | undefined;
  /** Prepended to every Redis key, so several deployments (or test runs) can share one Redis. */
  redisKeyPrefix: string;
  /** The bearer token GET /api/metrics asks for; unset: the metrics are not served. */
  metricsToken: string | undefined;
}

/** The repository root: the nearest folder upwards whose package.json declares workspaces. */
export function repoRoot(from = process.cwd()): string {
  let dir = path.resolve(/*turbopackIgnore: true*/ from);
  for (;;) {
    const pkg = path.join(dir, "package.json");
    if (fs.existsSync(pkg)) {
      try {
        if (JSON.parse(fs.readFileSync(pkg, "utf8")).workspaces) return dir;
      } catch {
        // not a readable package.json: keep looking upwards
      }
    }
    const parent = path.dirname(dir);
    if (parent === dir) return path.resolve(/*turbopackIgnore: true*/ from);
    dir = parent;
  }
}

function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return "invalid configuration";
  const name = String(issue.path[0] ?? "environment");
  return issue.message.startsWith(name) ? issue.message : `${name}: ${issue.message}`;
}

/**
 * Reads the environment into a validated Config. `env` is injectable for tests; `log` receives
 * the one line said when a development secret is generated; `stdoutIsTty` picks the log format
 * when LOG_FORMAT is unset (readable at a terminal, JSON for anything that collects the output).
 */
export function loadConfig(
  env: Record<string, string | undefined> = process.env,
  log: (line: string) => void = (line) => console.error(line),
  stdoutIsTty: boolean = process.stdout?.isTTY === true,
): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) throw new ConfigError(`Invalid configuration: ${firstIssue(parsed.error)}`);
  const e = parsed.data;
  const root = repoRoot();
  const pgliteDir = path.resolve(/*turbopackIgnore: true*/ root, e.PGLITE_DIR || ".data/pglite");
  const dataDir = path.dirname(pgliteDir);
  let authSecret = e.AUTH_SECRET || "";
  if (!authSecret) {
    if (e.NODE_ENV === "production") {
      throw new ConfigError(
        "Invalid configuration: AUTH_SECRET is required when NODE_ENV=production (at least 32 characters, e.g. `openssl rand -base64 48`)",
      );
    }
    authSecret = developmentSecret(dataDir, log);
  }
  return {
    nodeEnv: e.NODE_ENV,
    database: e.DATABASE_URL
      ? { kind: "postgres", url: e.DATABASE_URL, preparedStatements: e.DATABASE_PREPARED_STATEMENTS }
      : { kind: "embedded", dir: pgliteDir },
    dataDir,
    authSecret,
    nextAuthUrl: e.NEXTAUTH_URL || undefined,
    port: e.PORT,
    maxBulkDelete: e.MAX_BULK_DELETE,
    restoreWindowDays: e.RESTORE_WINDOW_DAYS,
    rateLimit: { writesPerMinute: e.RATE_LIMIT_WRITES_PER_MINUTE, readsPerMinute: e.RATE_LIMIT_READS_PER_MINUTE },
    trustProxy: e.TRUST_PROXY,
    logLevel: e.LOG_LEVEL,
    logFormat: e.LOG_FORMAT ?? (stdoutIsTty ? "pretty" : "json"),
    redisUrl: e.REDIS_URL,
    redisKeyPrefix: e.REDIS_KEY_PREFIX || "roster:",
    metricsToken: e.METRICS_TOKEN || undefined,
  };
}

/** Outside production a missing AUTH_SECRET is generated once and kept in the data folder. */
function developmentSecret(dataDir: string, log: (line: string) => void): string {
  const file = path.join(dataDir, "auth-secret");
  try {
    const existing = fs.readFileSync(file, "utf8").trim();
    if (existing.length >= 32) return existing;
  } catch {
    // absent: generate below
  }
  fs.mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(48).toString("base64url");
  try {
    fs.writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: "wx" });
    log(`AUTH_SECRET is not set: generated a development secret in ${file}`);
    return secret;
  } catch {
    // another process wrote it first: use theirs
    return fs.readFileSync(file, "utf8").trim();
  }
}

let cached: Config | undefined;

/** The process-wide configuration, read once. */
export function getConfig(): Config {
  cached ??= loadConfig();
  return cached;
}

/** Runs `fn`, and on a ConfigError prints its one line and exits 1 (for command-line entry points). */
export function exitOnConfigError<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(1);
    }
    throw err;
  }
}

/**
 * The password `npm run admin:create` uses when it cannot ask (automation): ROSTER_ADMIN_PASSWORD.
 * Removed from the environment once read, so no child process inherits it.
 */
export function takeAdminPassword(env: Record<string, string | undefined> = process.env): string | undefined {
  const value = env.ROSTER_ADMIN_PASSWORD;
  delete env.ROSTER_ADMIN_PASSWORD;
  return value === undefined || value === "" ? undefined : value;
}
