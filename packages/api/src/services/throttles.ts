// The throttles that slow down guessing, in one place: per Universal Auth client id, and per
// account and per client address for password sign-in. After FREE_FAILURES failures within
// WINDOW_SEC a key is locked (429 with Retry-After) for BASE_LOCK_SEC, doubling with each further
// failure up to MAX_LOCK_SEC; a success clears the record.
//
// Counts live in Redis when REDIS_URL is set (every instance shares them) and in process memory
// otherwise, through rate-limiter-flexible, whose Redis counters are single Lua scripts: atomic.
// An attempt is counted when it starts, not when it has failed, so a parallel burst cannot run
// more guesses than the rule allows: the first FREE_FAILURES - 1 attempts of a window run freely,
// and from then on one attempt at a time holds the key's gate (an atomic consume of one point);
// its failure turns the gate into the lock, its success clears both. An attempt that finds the
// gate held by another one still running waits briefly for it (BUSY_WAIT_MS) rather than being
// refused: several workers of one identity logging in at once all get through when they are right.
//
// Memory: records expire on their own (WINDOW_SEC, or the lock), nothing is evicted early, so a
// flood of junk keys cannot push a real lockout out. In process memory the number of keys is
// capped; at the cap a new key is refused (429) until records expire, rather than evicting one.
import { getConfig } from "@roster/config";
import { Redis } from "ioredis";
import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes } from "rate-limiter-flexible";
import { RateLimitError } from "../errors";
import { getLogger } from "../logger";
import { metrics } from "../metrics";

export interface ThrottleRules {
  freeFailures: number;
  windowSec: number;
  baseLockSec: number;
  maxLockSec: number;
  /** In process memory: the most keys tracked at once. */
  maxKeys: number;
  /** How long an attempt waits for the key's gate while another attempt holds it. */
  busyWaitMs: number;
}

export const LOGIN_RULES: ThrottleRules = {
  freeFailures: 5,
  windowSec: 5 * 60,
  baseLockSec: 30,
  maxLockSec: 15 * 60,
  maxKeys: 100_000,
  busyWaitMs: 2000,
};

/** The gate's count while the key is locked (a gate held by a running attempt counts 1 or 2). */
const LOCKED = 1_000_000;
const BUSY_POLL_MS = 100;

/** Where counts are kept. */
export type ThrottleStore =
  | { kind: "memory" }
  | {
      kind: "redis";
      client: Redis;
      prefix: string /** Settles once the first connection is up or has failed. */;
      connected: Promise<void>;
    };

type Limiter = RateLimiterMemory | RateLimiterRedis;

/** A store's limiters, by prefix and rule, kept on the store itself (see throttles()). */
const LIMITERS = Symbol.for("roster.throttles.limiters");
type LimiterPair = { limiter: Limiter; memory: RateLimiterMemory };

/**
 * A limiter, and the process-memory store it counts in (its own, or its insurance while Redis is
 * away): one per store, prefix and rule, whichever bundle of this module asks for it.
 */
function limiter(store: ThrottleStore, keyPrefix: string, points: number, duration: number): LimiterPair {
  const holder = store as { [LIMITERS]?: Map<string, LimiterPair> };
  holder[LIMITERS] ??= new Map();
  const cache = holder[LIMITERS];
  const key = `${keyPrefix}|${points}|${duration}`;
  let pair = cache.get(key);
  if (!pair) {
    pair = newLimiter(store, keyPrefix, points, duration);
    cache.set(key, pair);
  }
  return pair;
}

function newLimiter(store: ThrottleStore, keyPrefix: string, points: number, duration: number): LimiterPair {
  const memory = new RateLimiterMemory({ keyPrefix, points, duration });
  if (store.kind === "memory") return { limiter: memory as Limiter, memory };
  const redis = new RateLimiterRedis({
    storeClient: store.client,
    keyPrefix: `${store.prefix}${keyPrefix}`,
    points,
    duration,
    // Not connected: count in this process's memory instead of failing or waiting.
    rejectIfRedisNotReady: true,
    insuranceLimiter: memory,
  });
  return { limiter: redis as Limiter, memory };
}

/** Keys held in a process-memory store. */
function keysIn(memory: RateLimiterMemory): number {
  // rate-limiter-flexible (pinned) keeps a Map in `_memoryStorage._storage`; it has no public size.
  const storage = (memory as unknown as { _memoryStorage?: { _storage?: Map<string, unknown> } })._memoryStorage
    ?._storage;
  return storage?.size ?? 0;
}

const seconds = (ms: number) => Math.max(1, Math.ceil(ms / 1000));

/** Why an attempt was refused, as the lockout metric labels it. */
type RefusalReason = "locked" | "busy" | "capacity";

/** One started attempt: say how it ended, exactly once. */
export interface Attempt {
  /** Wrong credentials: counts, and may lock the key. */
  failed(): Promise<void>;
  /** Right credentials: clears the key's record. */
  succeeded(): Promise<void>;
  /** Ended for another reason (an IP rule, an error): as if it never started. */
  abandoned(): Promise<void>;
}

export class LoginThrottle {
  private readonly attempts: Limiter;
  private readonly attemptsInMemory: RateLimiterMemory;
  private readonly gate: Limiter;
  /** Failures of gated attempts: the lock doubles with each (counted apart from `attempts`, whose
   * count may include a racing attempt's reservation for a moment). */
  private readonly strikes: Limiter;

  constructor(
    private readonly name: string,
    private readonly store: ThrottleStore = { kind: "memory" },
    private readonly rules: ThrottleRules = LOGIN_RULES,
  ) {
    const attempts = limiter(store, `${name}:n`, Number.MAX_SAFE_INTEGER, rules.windowSec);
    this.attempts = attempts.limiter;
    this.attemptsInMemory = attempts.memory;
    this.gate = limiter(store, `${name}:g`, 1, rules.baseLockSec).limiter;
    this.strikes = limiter(store, `${name}:s`, Number.MAX_SAFE_INTEGER, rules.windowSec).limiter;
  }

  /** Counts an attempt for `key`, or throws RateLimitError while the key is locked. */
  async begin(key: string): Promise<Attempt> {
    // The first attempts after start-up wait for Redis rather than counting in memory meanwhile.
    if (this.store.kind === "redis") await this.store.connected;
    const deadline = Date.now() + this.rules.busyWaitMs;
    for (;;) {
      const started = await this.tryBegin(key);
      if ("attempt" in started) return started.attempt;
      if (started.locked || Date.now() >= deadline) {
        metrics().lockoutRefusals.inc({ throttle: this.name, reason: started.reason });
        throw new RateLimitError(started.retryAfter);
      }
      await new Promise((resolve) => setTimeout(resolve, BUSY_POLL_MS));
    }
  }

  private async tryBegin(
    key: string,
  ): Promise<{ attempt: Attempt } | { locked: boolean; reason: RefusalReason; retryAfter: number }> {
    const lock = await this.gate.get(key);
    if (lock && lock.consumedPoints >= LOCKED && lock.msBeforeNext > 0) {
      return { locked: true, reason: "locked", retryAfter: seconds(lock.msBeforeNext) };
    }
    if (keysIn(this.attemptsInMemory) >= this.rules.maxKeys && !(await this.attempts.get(key))) {
      return { locked: true, reason: "capacity", retryAfter: this.rules.baseLockSec };
    }
    const n = (await this.attempts.penalty(key)).consumedPoints;
    let gated = false;
    if (n >= this.rules.freeFailures) {
      try {
        await this.gate.consume(key);
        gated = true;
      } catch (err) {
        await this.attempts.reward(key);
        if (!(err instanceof RateLimiterRes)) throw err;
        const locked = err.consumedPoints >= LOCKED;
        return { locked, reason: locked ? "locked" : "busy", retryAfter: locked ? seconds(err.msBeforeNext) : 1 };
      }
    }
    return { attempt: this.attempt(key, gated) };
  }

  private attempt(key: string, gated: boolean): Attempt {
    let settled = false;
    const once = async (fn: () => Promise<unknown>) => {
      if (settled) return;
      settled = true;
      await fn();
    };
    return {
      failed: () =>
        once(async () => {
          if (!gated) return;
          const strike = (await this.strikes.penalty(key)).consumedPoints;
          const lockSec = Math.min(this.rules.baseLockSec * 2 ** (strike - 1), this.rules.maxLockSec);
          await this.gate.set(key, LOCKED, lockSec);
        }),
      succeeded: () =>
        once(() => Promise.all([this.attempts.delete(key), this.gate.delete(key), this.strikes.delete(key)])),
      abandoned: () =>
        once(() => Promise.all([this.attempts.reward(key), gated ? this.gate.delete(key) : Promise.resolve()])),
    };
  }
}

/**
 * Starts an attempt on every (throttle, key) pair, or none: when one is locked the ones already
 * started are abandoned and its RateLimitError is thrown.
 */
export async function beginAll(pairs: [LoginThrottle, string][]): Promise<Attempt[]> {
  const started: Attempt[] = [];
  try {
    for (const [throttle, key] of pairs) started.push(await throttle.begin(key));
    return started;
  } catch (err) {
    await Promise.all(started.map((a) => a.abandoned()));
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// The per-caller rate limit (the contract's 429, between checks 5 and 6)

/** Which budget a request spends: writes (mutations, POST/DELETE) or reads (queries, GET). */
export type RateLimitBudget = "writes" | "reads";

const RATE_WINDOW_SEC = 60;

/** Where a request stands in its budget, for the RateLimit-Policy and RateLimit headers. */
export interface RateLimitState {
  budget: RateLimitBudget;
  /** Requests allowed per window. */
  quota: number;
  windowSec: number;
  remaining: number;
  /** Seconds until the window resets. */
  resetSec: number;
}

/**
 * The IETF httpapi-ratelimit-headers draft's fields (draft 10 and later: structured fields with
 * the policy name as a string item; `q` quota, `w` window, `r` remaining, `t` seconds to reset).
 */
export function rateLimitHeaders(spent: readonly RateLimitState[]): Record<string, string> {
  // A tRPC batch spends once per call: each budget is reported once, as its last call left it.
  const states = [...new Map(spent.map((s) => [s.budget, s])).values()];
  if (states.length === 0) return {};
  return {
    "RateLimit-Policy": states.map((s) => `"${s.budget}";q=${s.quota};w=${s.windowSec}`).join(", "),
    RateLimit: states.map((s) => `"${s.budget}";r=${s.remaining};t=${s.resetSec}`).join(", "),
  };
}

/** Who is counted: a user, a machine identity, or (unauthenticated routes) a client address. */
export type RateLimitSubject = { kind: "user" | "identity"; id: string } | { kind: "address"; ip: string | null };

/** The subject a resolved caller is counted as. */
export const rateLimitSubjectOf = (
  caller: { kind: "user"; userId: string } | { kind: "identity"; identityId: string },
) =>
  caller.kind === "user"
    ? ({ kind: "user", id: caller.userId } as const)
    : ({ kind: "identity", id: caller.identityId } as const);

const subjectKey = (s: RateLimitSubject) => (s.kind === "address" ? `ip:${s.ip ?? "unknown"}` : `${s.kind}:${s.id}`);

export class RateLimits {
  private readonly limiters: Partial<Record<RateLimitBudget, { limiter: Limiter; quota: number }>> = {};

  constructor(
    private readonly store: ThrottleStore,
    budgets: { writesPerMinute: number; readsPerMinute: number },
  ) {
    // 0 turns a budget off: no limiter, no headers, nothing counted.
    for (const [budget, quota] of [
      ["writes", budgets.writesPerMinute],
      ["reads", budgets.readsPerMinute],
    ] as const) {
      if (quota > 0) {
        this.limiters[budget] = { limiter: limiter(store, `rate:${budget}`, quota, RATE_WINDOW_SEC).limiter, quota };
      }
    }
  }

  /**
   * Spends one request of `subject`'s `budget`. Returns where it stands (null when the budget is
   * off), or throws RateLimitError, with the draft's headers, when the budget is spent. This is
   * the one place a rate-limit refusal is decided, and counted.
   */
  async spend(budget: RateLimitBudget, subject: RateLimitSubject): Promise<RateLimitState | null> {
    const entry = this.limiters[budget];
    if (!entry) return null;
    if (this.store.kind === "redis") await this.store.connected;
    const state = (res: RateLimiterRes): RateLimitState => ({
      budget,
      quota: entry.quota,
      windowSec: RATE_WINDOW_SEC,
      remaining: Math.max(0, res.remainingPoints),
      resetSec: seconds(res.msBeforeNext),
    });
    try {
      return state(await entry.limiter.consume(subjectKey(subject)));
    } catch (err) {
      if (!(err instanceof RateLimiterRes)) throw err;
      const refused = state(err);
      metrics().rateLimitRefusals.inc({ budget });
      const error = new RateLimitError(refused.resetSec);
      error.headers = { ...error.headers, ...rateLimitHeaders([refused]) };
      throw error;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The process-wide store and throttles

const WARN_EVERY_MS = 60_000;

function connectRedis(url: string, prefix: string): ThrottleStore {
  const client = new Redis(url, {
    // Never queue behind a lost connection: the limiters count in memory until it is back.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 2000,
    retryStrategy: (times) => Math.min(times * 200, 5000),
  });
  let lastWarn = 0;
  client.on("error", (err: Error) => {
    const now = Date.now();
    if (now - lastWarn < WARN_EVERY_MS) return;
    lastWarn = now;
    getLogger().warn(
      { err: err.message },
      "Redis unreachable: throttles and rate limits count in this process's memory until it returns",
    );
  });
  const connected = new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 2500);
    timer.unref();
    const done = () => {
      clearTimeout(timer);
      resolve();
    };
    client.once("ready", done);
    client.once("end", done);
  });
  return { kind: "redis", client, prefix, connected };
}

interface Throttles {
  store: ThrottleStore;
  universalAuth: LoginThrottle;
  passwordAccount: LoginThrottle;
  passwordAddress: LoginThrottle;
  rateLimits: RateLimits;
}

const GLOBAL_KEY = Symbol.for("roster.throttles");
type GlobalWithStore = typeof globalThis & { [GLOBAL_KEY]?: ThrottleStore };
let local: Throttles | undefined;

/**
 * The process-wide throttles. Next builds this module more than once into one process (once for
 * its API routes, once for its pages and sign-in), so what is shared goes through the global
 * object: the store (Redis or memory) and the limiters that count in it. The throttles around
 * them are this bundle's own, so the errors they throw are the classes this bundle's callers
 * know (an error class from another bundle would fail their instanceof checks).
 */
export function throttles(): Throttles {
  const g = globalThis as GlobalWithStore;
  if (!g[GLOBAL_KEY]) {
    const config = getConfig();
    g[GLOBAL_KEY] = config.redisUrl ? connectRedis(config.redisUrl, config.redisKeyPrefix) : { kind: "memory" };
  }
  const store = g[GLOBAL_KEY];
  if (local?.store !== store) {
    local = {
      store,
      universalAuth: new LoginThrottle("login:ua", store),
      passwordAccount: new LoginThrottle("login:account", store),
      passwordAddress: new LoginThrottle("login:address", store),
      rateLimits: new RateLimits(store, getConfig().rateLimit),
    };
  }
  return local;
}
