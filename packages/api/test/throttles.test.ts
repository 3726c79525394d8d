// The login throttles on their own: 5 failures per key are free, then the key is locked out (429
// RateLimitExceeded with Retry-After) for a time that doubles with each further failure, up to 15
// minutes; failures older than the 5-minute window are forgotten, and a success clears the record.
// In process memory on a clock the test moves, and on the real Redis for what must hold there too:
// a parallel burst never runs more attempts than the rule allows, and two processes' throttles on
// one Redis share their counts. (Over HTTP: apps/web/test/identities-lockout.test.ts and
// apps/web/test/sign-in-throttle.test.ts.)
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { AppError, RateLimitError } from "../src/errors";
import {
  type Attempt,
  beginAll,
  LOGIN_RULES,
  LoginThrottle,
  type ThrottleStore,
  throttles,
} from "../src/services/throttles";
import { probeTestRedis, TEST_REDIS_URL } from "./support";

const SECOND = 1000;
const MINUTE = 60 * SECOND;

/** One attempt that fails. */
async function fail(throttle: LoginThrottle, key: string, times = 1): Promise<void> {
  for (let i = 0; i < times; i++) await (await throttle.begin(key)).failed();
}

/** The RateLimitError that starting an attempt throws, or null when the key may try (that attempt is abandoned). */
async function lockOf(throttle: LoginThrottle, key: string): Promise<RateLimitError | null> {
  try {
    await (await throttle.begin(key)).abandoned();
    return null;
  } catch (err) {
    if (err instanceof RateLimitError) return err;
    throw err;
  }
}

/** The seconds a locked key must wait, or null when it may try. */
const retryAfter = async (throttle: LoginThrottle, key: string): Promise<number | null> => {
  const err = await lockOf(throttle, key);
  return err ? Number(err.headers["Retry-After"]) : null;
};

/** Starts `n` attempts at once: the ones let through, and how many were refused. */
async function burst(throttle: LoginThrottle, key: string, n: number) {
  const settled = await Promise.allSettled(Array.from({ length: n }, () => throttle.begin(key)));
  const admitted = settled.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
  const refused = settled.filter((s) => s.status === "rejected");
  for (const r of refused) expect((r as PromiseRejectedResult).reason).toBeInstanceOf(RateLimitError);
  return { admitted, refused: refused.length };
}

const failAll = (attempts: Attempt[]) => Promise.all(attempts.map((a) => a.failed()));

describe("LoginThrottle in process memory", () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: Date.UTC(2026, 10, 1), toFake: ["Date", "setTimeout", "clearTimeout"] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });
  const advance = (ms: number) => vi.advanceTimersByTime(ms);

  it("lets a key fail 5 times, then refuses it with 429 RateLimitExceeded and Retry-After", async () => {
    const throttle = new LoginThrottle("t");
    for (let i = 1; i <= 4; i++) {
      await fail(throttle, "client-a");
      expect(await lockOf(throttle, "client-a"), `after ${i} failures`).toBeNull();
    }
    await fail(throttle, "client-a");
    const err = await lockOf(throttle, "client-a");
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({
      status: 429,
      errorName: "RateLimitExceeded",
      message: "Rate limit exceeded. Please try again in 30 seconds",
      headers: { "Retry-After": "30" },
    });
  });

  it("counts down Retry-After with the clock (rounding up) and lets the key try again once the lock ends", async () => {
    const throttle = new LoginThrottle("t");
    await fail(throttle, "client-a", 5);
    expect(await retryAfter(throttle, "client-a")).toBe(30);
    advance(10 * SECOND);
    expect(await retryAfter(throttle, "client-a")).toBe(20);
    advance(19 * SECOND + 1);
    expect(await retryAfter(throttle, "client-a")).toBe(1);
    advance(999);
    expect(await retryAfter(throttle, "client-a")).toBeNull();
  });

  it("doubles the lock with each further failure inside the window", async () => {
    const throttle = new LoginThrottle("t");
    await fail(throttle, "client-a", 5);
    expect(await retryAfter(throttle, "client-a")).toBe(30);
    advance(30 * SECOND);
    await fail(throttle, "client-a"); // the 6th
    expect(await retryAfter(throttle, "client-a")).toBe(60);
    advance(60 * SECOND);
    await fail(throttle, "client-a"); // the 7th
    expect(await retryAfter(throttle, "client-a")).toBe(120);
  });

  it("never locks for more than 15 minutes", async () => {
    const throttle = new LoginThrottle("t", { kind: "memory" }, { ...LOGIN_RULES, windowSec: 4 * 60 * 60 });
    await fail(throttle, "client-a", 5);
    for (let i = 0; i < 6; i++) {
      advance(15 * MINUTE);
      await fail(throttle, "client-a"); // 30 s * 2^6 = 32 min without the cap
    }
    expect(await retryAfter(throttle, "client-a")).toBe(15 * 60);
  });

  it("keeps each key apart", async () => {
    const throttle = new LoginThrottle("t");
    await fail(throttle, "client-a", 5);
    await fail(throttle, "client-b", 4);
    expect(await retryAfter(throttle, "client-a")).toBe(30);
    expect(await retryAfter(throttle, "client-b")).toBeNull();
    expect(await retryAfter(throttle, "client-c")).toBeNull();
  });

  it("clears the record on a success: the next 5 failures are free again", async () => {
    const throttle = new LoginThrottle("t");
    await fail(throttle, "client-a", 4);
    await (await throttle.begin("client-a")).succeeded();
    await fail(throttle, "client-a", 4);
    expect(await retryAfter(throttle, "client-a")).toBeNull();
    await fail(throttle, "client-a");
    expect(await retryAfter(throttle, "client-a")).toBe(30);
  });

  it("does not count an abandoned attempt, and settles an attempt once", async () => {
    const throttle = new LoginThrottle("t");
    for (let i = 0; i < 10; i++) await (await throttle.begin("client-a")).abandoned();
    await fail(throttle, "client-a", 4);
    expect(await retryAfter(throttle, "client-a")).toBeNull();
    const attempt = await throttle.begin("client-a");
    await attempt.failed();
    await attempt.abandoned(); // too late: the failure stands
    expect(await retryAfter(throttle, "client-a")).toBe(30);
  });

  it("forgets failures older than the 5-minute window", async () => {
    const throttle = new LoginThrottle("t");
    await fail(throttle, "client-a", 4);
    advance(5 * MINUTE - 1); // still inside the window: the 5th failure locks
    await fail(throttle, "client-a");
    expect(await retryAfter(throttle, "client-a")).toBe(30);

    await fail(throttle, "client-b", 4);
    advance(5 * MINUTE); // past the window: a new count starts
    await fail(throttle, "client-b", 4);
    expect(await retryAfter(throttle, "client-b")).toBeNull();
    await fail(throttle, "client-b");
    expect(await retryAfter(throttle, "client-b")).toBe(30);
  });

  it("restarts the count after the window even when the key was locked before", async () => {
    const throttle = new LoginThrottle("t");
    await fail(throttle, "client-a", 5);
    advance(6 * MINUTE);
    expect(await retryAfter(throttle, "client-a")).toBeNull();
    await fail(throttle, "client-a");
    expect(await retryAfter(throttle, "client-a")).toBeNull();
  });

  it("lets a parallel burst run 5 attempts at most, and one at a time after a lock", async () => {
    // No waiting for a busy gate: the clock here only moves when told.
    const throttle = new LoginThrottle("t", { kind: "memory" }, { ...LOGIN_RULES, busyWaitMs: 0 });
    const first = await burst(throttle, "client-a", 50);
    expect(first.admitted).toHaveLength(5);
    expect(first.refused).toBe(45);
    await failAll(first.admitted);
    expect(await retryAfter(throttle, "client-a")).toBe(30);

    advance(30 * SECOND);
    const second = await burst(throttle, "client-a", 50);
    expect(second.admitted).toHaveLength(1);
    await failAll(second.admitted);
    expect(await retryAfter(throttle, "client-a")).toBe(60);
  });

  it("serves a parallel burst of right answers in full: a busy key waits for its gate", async () => {
    vi.useRealTimers();
    const throttle = new LoginThrottle("t");
    await fail(throttle, "client-a", 3);
    const served = await Promise.all(
      Array.from({ length: 12 }, async () => {
        const attempt = await throttle.begin("client-a");
        await new Promise((resolve) => setTimeout(resolve, 20));
        await attempt.succeeded();
        return true;
      }),
    );
    expect(served).toHaveLength(12);
  });

  it("refuses a busy key once the wait is over, with Retry-After 1", async () => {
    vi.useRealTimers();
    const throttle = new LoginThrottle("t", { kind: "memory" }, { ...LOGIN_RULES, busyWaitMs: 300 });
    await fail(throttle, "client-a", 4);
    const holder = await throttle.begin("client-a"); // the 5th holds the gate
    expect(await retryAfter(throttle, "client-a")).toBe(1);
    await holder.failed();
    expect(await retryAfter(throttle, "client-a")).toBe(30);
  });

  it("keeps a lockout through 10,000 failures on junk keys", async () => {
    const throttle = new LoginThrottle("t");
    await fail(throttle, "real-client", 5);
    for (let i = 0; i < 10_000; i++) await fail(throttle, `junk-${i}`);
    expect(await retryAfter(throttle, "real-client")).toBe(30);
  });

  it("bounds memory: at the cap a new key is refused, and nothing tracked is evicted", async () => {
    const throttle = new LoginThrottle("t", { kind: "memory" }, { ...LOGIN_RULES, maxKeys: 100 });
    await fail(throttle, "real-client", 5);
    await fail(throttle, "known-client", 2);
    for (let i = 0; i < 98; i++) await fail(throttle, `junk-${i}`);
    // 100 keys tracked: a new one is refused, the known ones keep their counts
    expect(await retryAfter(throttle, "new-client")).toBe(30);
    expect(await retryAfter(throttle, "real-client")).toBe(30);
    await fail(throttle, "known-client", 2);
    expect(await retryAfter(throttle, "known-client")).toBeNull();
    await fail(throttle, "known-client");
    expect(await retryAfter(throttle, "known-client")).toBe(30);
    // once the records expire there is room again
    advance(5 * MINUTE + 1);
    expect(await retryAfter(throttle, "new-client")).toBeNull();
  });

  it("starts every attempt of beginAll or none", async () => {
    const account = new LoginThrottle("account");
    const address = new LoginThrottle("address");
    await fail(address, "203.0.113.5", 5);
    await expect(
      beginAll([
        [account, "a@x.test"],
        [address, "203.0.113.5"],
      ]),
    ).rejects.toBeInstanceOf(RateLimitError);
    // the account's attempt was abandoned: it still has 5 free failures
    await fail(account, "a@x.test", 4);
    expect(await retryAfter(account, "a@x.test")).toBeNull();
  });

  it("is one set of throttles per process", () => {
    expect(throttles()).toBe(throttles());
    expect(throttles().universalAuth).toBeInstanceOf(LoginThrottle);
  });

  it("shares its counts with another bundle of the module, which throws its own error classes", async () => {
    // Next builds this module into one process more than once (API routes, pages): a second copy
    // of the modules, with classes of its own, stands in for the other bundle.
    const subject = { kind: "user" as const, id: `bundles-${randomBytes(4).toString("hex")}` };
    const quota = throttles().rateLimits;
    vi.resetModules();
    const other = await import("../src/services/throttles");
    const otherErrors = await import("../src/errors");
    expect(otherErrors.RateLimitError).not.toBe(RateLimitError);
    const first = await quota.spend("writes", subject);
    const second = await other.throttles().rateLimits.spend("writes", subject);
    expect(second?.remaining).toBe((first?.remaining ?? 0) - 1);
    // Spend the rest through this bundle, then the other bundle refuses with its own class.
    for (let left = second?.remaining ?? 0; left > 0; left--) await quota.spend("writes", subject);
    const refused = await other
      .throttles()
      .rateLimits.spend("writes", subject)
      .catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(otherErrors.RateLimitError);
    expect(refused).not.toBeInstanceOf(RateLimitError);
    await expect(quota.spend("writes", subject)).rejects.toBeInstanceOf(RateLimitError);
  });
});

const REDIS_URL = TEST_REDIS_URL;
const redisUp = await probeTestRedis("REDIS TESTS");

describe.skipIf(!redisUp)("LoginThrottle in Redis", () => {
  const prefix = `roster-test-${Date.now()}-${randomBytes(3).toString("hex")}:`;
  const clients: Redis[] = [];
  const store = (): ThrottleStore => {
    const client = new Redis(REDIS_URL, { enableOfflineQueue: false, maxRetriesPerRequest: 1 });
    clients.push(client);
    const connected = new Promise<void>((resolve) => client.once("ready", () => resolve()));
    return { kind: "redis", client, prefix, connected };
  };

  afterAll(async () => {
    const client = clients[0];
    if (client) {
      const keys = await client.keys(`${prefix}*`);
      if (keys.length) await client.del(...keys);
    }
    for (const c of clients) c.disconnect();
  });

  it("locks after 5 failures, and a success clears the record", async () => {
    const throttle = new LoginThrottle("t1", store());
    await fail(throttle, "client-a", 5);
    const err = await lockOf(throttle, "client-a");
    expect(err?.headers["Retry-After"]).toMatch(/^(29|30)$/);
    await fail(throttle, "client-b", 4);
    await (await throttle.begin("client-b")).succeeded();
    await fail(throttle, "client-b", 4);
    expect(await lockOf(throttle, "client-b")).toBeNull();
  });

  it("lets a parallel burst, spread over two processes' throttles, run 5 attempts at most", async () => {
    const one = new LoginThrottle("t2", store());
    const two = new LoginThrottle("t2", store());
    const settled = await Promise.allSettled(
      Array.from({ length: 60 }, (_, i) => (i % 2 ? one : two).begin("client-a")),
    );
    const admitted = settled.flatMap((s) => (s.status === "fulfilled" ? [s.value] : []));
    expect(admitted).toHaveLength(5);
    await failAll(admitted);
    // locked for both
    expect(await retryAfter(one, "client-a")).toBeGreaterThanOrEqual(29);
    expect(await retryAfter(two, "client-a")).toBeGreaterThanOrEqual(29);
  });

  it("keeps its keys under the prefix, expiring", async () => {
    const s = store();
    const throttle = new LoginThrottle("t3", s);
    await fail(throttle, "client-a", 5);
    if (s.kind !== "redis") throw new Error("expected a Redis store");
    const keys = await s.client.keys(`${prefix}t3*`);
    expect(keys.length).toBeGreaterThanOrEqual(2);
    for (const key of keys) {
      const ttl = await s.client.pttl(key);
      expect(ttl, key).toBeGreaterThan(0);
      expect(ttl, key).toBeLessThanOrEqual(5 * MINUTE);
    }
  });
});
