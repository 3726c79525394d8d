// The sign-in throttles across instances: two Roster servers on the test database and one Redis
// (a key prefix of this run's own), as several instances run in production. A lockout started
// through one instance holds on the other, for password sign-in (per account and per client
// address) and for Universal Auth (per client id); a parallel burst spread over both runs no more
// attempts than the rule allows; the sign-in form says how long to wait.
// The servers trust one proxy hop (TRUST_PROXY=1: the test itself, on loopback), so the address
// each request names in X-Forwarded-For is its client address, and each request can come from one of
// its own and the per-account and per-address counts can be told apart.
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { memberOf, orgOf, probeTestRedis, RATE_LIMITED, reseed, TEST_REDIS_URL, testDb } from "@roster/api/testing";
import { loadConfig } from "@roster/config";
import { freePort } from "@roster/config/net";
import type { DemoManifest } from "@roster/contract";
import { DEMO_PASSWORD } from "@roster/db/seed";
import { Redis } from "ioredis";
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from "vitest";
import { type RosterServer, startRoster } from "../scripts/server";
import { expectNoBrowserProblems, skipBrowserTests, useBrowser } from "./e2e/browser";
import { signInOver } from "./support/web-sign-in";

const REDIS_URL = TEST_REDIS_URL;
const PREFIX = `roster-test-${Date.now()}-${randomBytes(3).toString("hex")}:`;
const WRONG = "not-the-password";
const UA_LOGIN = "/api/v1/auth/universal-auth/login";

const redisUp = await probeTestRedis("MULTI-INSTANCE THROTTLE TESTS");

/** A documentation address (RFC 5737) of its own for each call. */
let nextAddress = 1;
const freshAddress = () => {
  const n = nextAddress++;
  return `198.51.${100 + Math.floor(n / 250)}.${(n % 250) + 1}`;
};

describe.skipIf(!redisUp)("sign-in throttles shared by two instances on one Redis", () => {
  let one: RosterServer;
  let two: RosterServer;
  let redis: Redis;
  let manifest: DemoManifest;
  let logFd: number;

  async function start(): Promise<RosterServer> {
    const config = loadConfig({
      NODE_ENV: "test",
      DATABASE_URL: inject("databaseUrl"),
      AUTH_SECRET: process.env.AUTH_SECRET,
      PORT: String(await freePort()),
      REDIS_URL,
      REDIS_KEY_PREFIX: PREFIX,
      TRUST_PROXY: "1",
      LOG_LEVEL: "warn",
    });
    return startRoster({ config, seedIfEmpty: false, serverOutput: logFd, log: () => {} });
  }

  const clearCounts = async () => {
    const keys = await redis.keys(`${PREFIX}*`);
    if (keys.length) await redis.del(...keys);
  };

  beforeAll(async () => {
    manifest = await reseed();
    redis = new Redis(REDIS_URL);
    logFd = fs.openSync(path.join(inject("artifactsDir"), "sign-in-throttle-servers.log"), "w");
    // One after the other: both apply migrations (none pending) on start.
    one = await start();
    two = await start();
  });

  afterAll(async () => {
    await Promise.all([one?.stop(), two?.stop()]);
    if (redis) {
      await clearCounts();
      redis.disconnect();
    }
    if (logFd !== undefined) fs.closeSync(logFd);
  });

  beforeEach(clearCounts);

  const signIn = (server: RosterServer, email: string, password: string, ip = freshAddress()) =>
    signInOver(server.url, email, password, { headers: { "x-forwarded-for": ip } });

  /** A refusal: 429, Retry-After, the contract's message, and what next-auth's client reads. */
  function expectThrottled(out: Awaited<ReturnType<typeof signIn>>) {
    expect(out.res.status).toBe(429);
    const retryAfter = Number(out.res.headers.get("retry-after"));
    expect(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= 30, `Retry-After ${retryAfter}`).toBe(true);
    expect(out.body).toMatchObject({ error: "RateLimitExceeded", message: expect.stringMatching(RATE_LIMITED) });
    expect(new URL(String(out.body.url)).searchParams.get("error")).toBe(`RateLimitExceeded:${retryAfter}`);
    expect(out.sessionCookie).toBeUndefined();
  }

  async function sessionsOf(email: string): Promise<number> {
    const userId = memberOf(manifest, "acme", email).userId as string;
    return (await testDb()).authSession.count({ where: { userId } });
  }

  it("locks an account after 5 failures through one instance, on the other too, even for the right password", async () => {
    const email = "user101@acme.test";
    for (let i = 1; i <= 5; i++) {
      const out = await signIn(i % 2 ? one : two, email, WRONG);
      expect(out.res.status, `failure ${i}`).toBe(401);
    }
    const before = await sessionsOf(email);
    expectThrottled(await signIn(two, email, DEMO_PASSWORD));
    expectThrottled(await signIn(one, email, DEMO_PASSWORD));
    expect(await sessionsOf(email)).toBe(before);
    // another account, from the same addresses' range, signs in
    const other = await signIn(two, "user102@acme.test", DEMO_PASSWORD);
    expect(other.res.status).toBe(200);
    expect(other.sessionCookie).toBeTruthy();
  });

  it("locks a client address after 5 failures on any accounts, on the other instance too", async () => {
    const ip = freshAddress();
    for (let i = 0; i < 5; i++) {
      expect((await signIn(one, `user11${i}@acme.test`, WRONG, ip)).res.status).toBe(401);
    }
    expectThrottled(await signIn(two, "user120@acme.test", DEMO_PASSWORD, ip));
    // the same account from another address is not locked
    expect((await signIn(two, "user120@acme.test", DEMO_PASSWORD)).res.status).toBe(200);
  });

  it("lets a success reset the account's count", async () => {
    const email = "user130@acme.test";
    for (let i = 0; i < 4; i++) expect((await signIn(one, email, WRONG)).res.status).toBe(401);
    expect((await signIn(two, email, DEMO_PASSWORD)).res.status).toBe(200);
    for (let i = 0; i < 4; i++) expect((await signIn(two, email, WRONG)).res.status).toBe(401);
    expect((await signIn(one, email, DEMO_PASSWORD)).res.status).toBe(200);
  });

  it("runs at most 5 attempts of a parallel burst spread over both instances", async () => {
    const email = "user140@acme.test";
    const outs = await Promise.all(Array.from({ length: 24 }, (_, i) => signIn(i % 2 ? one : two, email, WRONG)));
    const statuses = outs.map((o) => o.res.status);
    expect(statuses.filter((s) => s === 401)).toHaveLength(5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(19);
    expectThrottled(await signIn(one, email, DEMO_PASSWORD));
  });

  it("locks a Universal Auth client id through one instance, on the other too", async () => {
    const identity = orgOf(manifest, "acme").identities[0];
    if (!identity) throw new Error("no identity in the demo data");
    const login = (server: RosterServer, clientSecret: string) =>
      fetch(`${server.url}${UA_LOGIN}`, {
        method: "POST",
        headers: { "content-type": "application/json", "x-forwarded-for": freshAddress() },
        body: JSON.stringify({ clientId: identity.clientId, clientSecret }),
      });
    for (let i = 1; i <= 5; i++)
      expect((await login(i % 2 ? one : two, "0".repeat(64))).status, `failure ${i}`).toBe(401);
    for (const server of [two, one]) {
      const res = await login(server, identity.clientSecret);
      expect(res.status).toBe(429);
      expect(res.headers.get("retry-after")).toMatch(/^([1-9]|[12]\d|30)$/);
      expect(((await res.json()) as { error: string }).error).toBe("RateLimitExceeded");
    }
    await clearCounts();
    expect((await login(two, identity.clientSecret)).status).toBe(200);
  });

  describe.skipIf(skipBrowserTests)("in the browser", () => {
    const browser = useBrowser();

    it('says "Too many attempts, try again in N seconds" on the sign-in form', async () => {
      const email = "user150@acme.test";
      for (let i = 0; i < 5; i++) expect((await signIn(one, email, WRONG)).res.status).toBe(401);
      const t = browser.current();
      await t.context.setExtraHTTPHeaders({ "x-forwarded-for": freshAddress() });
      await t.page.goto(`${two.url}/signin`);
      const submit = t.page.locator('form button[type="submit"]:enabled');
      await submit.waitFor();
      await t.page.locator("#email").fill(email);
      await t.page.locator("#password").fill(DEMO_PASSWORD);
      await submit.click();
      // (Next.js has a route announcer of its own with role="alert")
      const alert = t.page.locator('form [role="alert"]');
      await alert.waitFor();
      expect(await alert.textContent()).toMatch(/^Too many attempts, try again in ([1-9]|[12]\d|30) seconds\.$/);
      expect(new URL(t.page.url()).pathname).toBe("/signin");
      expectNoBrowserProblems(t, [
        {
          reason: "the refused sign-in answers 429",
          match: /status of 429/,
          url: /\/api\/auth\/callback\/credentials/,
        },
      ]);
    });
  });
});
