// The Universal Auth login throttle on its own, with a clock the test moves: 5 failures per client
// id are free, then the id is locked out (429 RateLimitExceeded with Retry-After) for a time that
// doubles with each further failure, up to 15 minutes; failures older than the 5-minute window
// are forgotten, and a success clears the record. (Over HTTP: apps/web/test/identities-auth.test.ts.)
import { describe, expect, it } from "vitest";
import { AppError, RateLimitError } from "../src/errors";
import { LoginThrottle, loginThrottle } from "../src/services/login-throttle";

const SECOND = 1000;
const MINUTE = 60 * SECOND;

/** A throttle on a clock that only moves when told. */
function throttleAt(start = Date.UTC(2026, 10, 1)) {
  let now = start;
  const throttle = new LoginThrottle(() => now);
  return {
    throttle,
    advance: (ms: number) => {
      now += ms;
    },
    fail: (key: string, times = 1) => {
      for (let i = 0; i < times; i++) throttle.failure(key);
    },
  };
}

/** The RateLimitError that `check(key)` throws, or null when the key may try. */
function lockOf(throttle: LoginThrottle, key: string): RateLimitError | null {
  try {
    throttle.check(key);
    return null;
  } catch (err) {
    if (err instanceof RateLimitError) return err;
    throw err;
  }
}

/** The seconds a locked key must wait, or null when it may try. */
const retryAfter = (throttle: LoginThrottle, key: string): number | null => {
  const err = lockOf(throttle, key);
  return err ? Number(err.headers?.["Retry-After"]) : null;
};

describe("LoginThrottle", () => {
  it("lets a client id fail 5 times, then refuses it with 429 RateLimitExceeded and Retry-After", () => {
    const { throttle, fail } = throttleAt();
    for (let i = 1; i <= 4; i++) {
      fail("client-a");
      expect(lockOf(throttle, "client-a"), `after ${i} failures`).toBeNull();
    }
    fail("client-a");
    const err = lockOf(throttle, "client-a");
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({
      status: 429,
      errorName: "RateLimitExceeded",
      message: "Rate limit exceeded. Please try again in 30 seconds",
      headers: { "Retry-After": "30" },
    });
  });

  it("counts down Retry-After with the clock (rounding up) and lets the id try again once the lock ends", () => {
    const { throttle, fail, advance } = throttleAt();
    fail("client-a", 5);
    expect(retryAfter(throttle, "client-a")).toBe(30);
    advance(10 * SECOND);
    expect(retryAfter(throttle, "client-a")).toBe(20);
    advance(19 * SECOND + 1);
    expect(retryAfter(throttle, "client-a")).toBe(1);
    advance(999);
    expect(retryAfter(throttle, "client-a")).toBeNull();
  });

  it("doubles the lock with each further failure inside the window", () => {
    const { throttle, fail, advance } = throttleAt();
    fail("client-a", 5);
    expect(retryAfter(throttle, "client-a")).toBe(30);
    advance(30 * SECOND);
    fail("client-a"); // the 6th
    expect(retryAfter(throttle, "client-a")).toBe(60);
    advance(60 * SECOND);
    fail("client-a"); // the 7th
    expect(retryAfter(throttle, "client-a")).toBe(120);
  });

  it("never locks for more than 15 minutes", () => {
    const { throttle, fail } = throttleAt();
    fail("client-a", 10); // 30 s * 2^5 = 16 min without the cap
    expect(retryAfter(throttle, "client-a")).toBe(15 * 60);
    fail("client-a", 20);
    expect(retryAfter(throttle, "client-a")).toBe(15 * 60);
  });

  it("keeps each client id apart", () => {
    const { throttle, fail } = throttleAt();
    fail("client-a", 5);
    fail("client-b", 4);
    expect(retryAfter(throttle, "client-a")).toBe(30);
    expect(retryAfter(throttle, "client-b")).toBeNull();
    expect(retryAfter(throttle, "client-c")).toBeNull();
  });

  it("clears the record on a success: the next 5 failures are free again", () => {
    const { throttle, fail } = throttleAt();
    fail("client-a", 4);
    throttle.success("client-a");
    fail("client-a", 4);
    expect(retryAfter(throttle, "client-a")).toBeNull();
    fail("client-a");
    expect(retryAfter(throttle, "client-a")).toBe(30);
  });

  it("forgets failures older than the 5-minute window", () => {
    const { throttle, fail, advance } = throttleAt();
    fail("client-a", 4);
    advance(5 * MINUTE); // still inside the window: the 5th failure locks
    fail("client-a");
    expect(retryAfter(throttle, "client-a")).toBe(30);

    const other = throttleAt();
    other.fail("client-b", 4);
    other.advance(5 * MINUTE + 1); // past the window: a new count starts
    other.fail("client-b", 4);
    expect(retryAfter(other.throttle, "client-b")).toBeNull();
    other.fail("client-b");
    expect(retryAfter(other.throttle, "client-b")).toBe(30);
  });

  it("restarts the count after the window even when the id was locked before", () => {
    const { throttle, fail, advance } = throttleAt();
    fail("client-a", 5);
    advance(6 * MINUTE);
    expect(retryAfter(throttle, "client-a")).toBeNull();
    fail("client-a");
    expect(retryAfter(throttle, "client-a")).toBeNull();
  });

  it("keeps memory bounded: the least recently failed ids are forgotten first", () => {
    const { throttle, fail } = throttleAt();
    fail("oldest", 4);
    fail("recent", 4);
    for (let i = 0; i < 9_999; i++) fail(`filler-${i}`);
    // 10,001 ids: "oldest" went; "recent" stayed.
    fail("recent");
    fail("oldest");
    expect(retryAfter(throttle, "oldest")).toBeNull();
    expect(retryAfter(throttle, "recent")).toBe(30);
  });

  it("is one throttle per process", () => {
    expect(loginThrottle()).toBe(loginThrottle());
    expect(loginThrottle()).toBeInstanceOf(LoginThrottle);
  });
});
