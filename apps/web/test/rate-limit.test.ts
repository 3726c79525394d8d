// The per-caller rate limit (the contract's 429, between checks 5 and 6) over real HTTP, on
// servers of its own with small budgets: both surfaces, the draft's RateLimit-Policy / RateLimit
// headers on every answer of a limited route, writes and reads counted apart, the order of checks,
// a budget shared by two instances on one Redis, `0` turning a budget off, and what happens when
// Redis is unreachable, stops and comes back.
import { type ChildProcess, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { orgOf, probeTestRedis, RATE_LIMITED, reseed, TEST_REDIS_URL, tokenOf } from "@roster/api/testing";
import { freePort } from "@roster/config/net";
import type { DemoManifest } from "@roster/contract";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { WebServer } from "../scripts/server";
import { type HttpAnswer, request, startExtraServer } from "./support/extra-server";
import { membershipsPath, parseJson } from "./support/http";

const REDIS_URL = TEST_REDIS_URL;
const prefix = () => `roster-rl-${Date.now()}-${randomBytes(3).toString("hex")}:`;

const redisUp = await probeTestRedis("RATE LIMIT TESTS ON REDIS");

let manifest: DemoManifest;
let orgId: string;
const servers: WebServer[] = [];

beforeAll(async () => {
  manifest = await reseed();
  orgId = orgOf(manifest, "acme").id;
});

afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop()));
});

async function server(env: Record<string, string>): Promise<WebServer> {
  const s = await startExtraServer({ REDIS_URL: "", ...env });
  servers.push(s);
  return s;
}

const bearer = (email: string) => ({ authorization: `Bearer ${tokenOf(manifest, "acme", email)}` });

/** REST removal of nothing: a write that succeeds and changes nothing. */
const restWrite = (s: WebServer, email: string) =>
  request({
    port: s.port,
    path: membershipsPath(orgId),
    method: "DELETE",
    headers: bearer(email),
    json: { membershipIds: [] },
  });

const restRead = (s: WebServer, email: string) =>
  request({ port: s.port, path: membershipsPath(orgId), headers: bearer(email) });

const trpcWrite = (s: WebServer, email: string) =>
  request({
    port: s.port,
    path: "/api/trpc/organizations.bulkDeleteMemberships",
    method: "POST",
    headers: bearer(email),
    json: { organizationId: orgId, membershipIds: [] },
  });

const trpcRead = (s: WebServer, email: string) =>
  request({
    port: s.port,
    path: `/api/trpc/organizations.listMemberships?input=${encodeURIComponent(JSON.stringify({ organizationId: orgId, limit: 5 }))}`,
    headers: bearer(email),
  });

/** A request with a body sent as is (one that is not JSON, say). */
async function raw(s: WebServer, method: string, url: string, headers: Record<string, string>, body: string) {
  const res = await fetch(`${s.url}${url}`, { method, headers, body });
  const text = await res.text();
  const parsed = (parseJson(text) as Record<string, unknown> | undefined) ?? { text };
  return { status: res.status, headers: Object.fromEntries(res.headers), body: parsed } as HttpAnswer;
}

/** The RateLimit-Policy and RateLimit headers of one budget, as the IETF draft writes them. */
function expectHeaders(res: HttpAnswer, budget: "writes" | "reads", quota: number, remaining: number) {
  expect(res.headers["ratelimit-policy"]).toBe(`"${budget}";q=${quota};w=60`);
  const m = new RegExp(`^"${budget}";r=(\\d+);t=(\\d+)$`).exec(String(res.headers.ratelimit));
  expect(m, `RateLimit: ${res.headers.ratelimit}`).not.toBeNull();
  expect(Number(m?.[1])).toBe(remaining);
  const t = Number(m?.[2]);
  expect(t >= 1 && t <= 60, `t=${t}`).toBe(true);
  return t;
}

/** A REST refusal: 429, the envelope, Retry-After agreeing with the message and the RateLimit header. */
function expectRefusedRest(res: HttpAnswer, budget: "writes" | "reads", quota: number) {
  expect(res.status).toBe(429);
  expect(res.body).toMatchObject({ statusCode: 429, error: "RateLimitExceeded" });
  const seconds = Number(RATE_LIMITED.exec(String(res.body.message))?.[1]);
  expect(Number(res.headers["retry-after"])).toBe(seconds);
  expect(expectHeaders(res, budget, quota, 0)).toBe(seconds);
}

function expectRefusedTrpc(res: HttpAnswer, budget: "writes" | "reads", quota: number) {
  expect(res.status).toBe(429);
  const error = res.body.error as { message: string; data: Record<string, unknown> };
  expect(error.data).toMatchObject({ httpStatus: 429, error: "RateLimitExceeded" });
  const seconds = Number(RATE_LIMITED.exec(error.message)?.[1]);
  expect(Number(res.headers["retry-after"])).toBe(seconds);
  expect(expectHeaders(res, budget, quota, 0)).toBe(seconds);
}

describe("rate limit, in one process's memory", () => {
  let low: WebServer;
  beforeAll(async () => {
    low = await server({ RATE_LIMIT_WRITES_PER_MINUTE: "3", RATE_LIMIT_READS_PER_MINUTE: "5" });
  });

  it("REST: the headers on every answer, 429 past the budget; a bad body over budget is 429, not 400", async () => {
    for (let left = 2; left >= 0; left--) {
      const res = await restWrite(low, "admin@acme.test");
      expect(res.status).toBe(200);
      expectHeaders(res, "writes", 3, left);
    }
    expectRefusedRest(await restWrite(low, "admin@acme.test"), "writes", 3);
    // Check 6 comes after the limit: a body that is not JSON is still refused as over budget.
    const badBody = await raw(
      low,
      "DELETE",
      membershipsPath(orgId),
      { ...bearer("admin@acme.test"), "content-type": "application/json" },
      "{",
    );
    expectRefusedRest(badBody, "writes", 3);
    // Check 1 comes before it: no token is a 401, and spends nothing.
    const anonymous = await request({ port: low.port, path: membershipsPath(orgId), method: "DELETE", json: {} });
    expect(anonymous.status).toBe(401);
    expect(anonymous.body).toMatchObject({ error: "UnauthorizedError", message: "Token missing" });
    // Reads have their own budget; another caller has budgets of their own.
    const read = await restRead(low, "admin@acme.test");
    expect(read.status).toBe(200);
    expectHeaders(read, "reads", 5, 4);
    const other = await restWrite(low, "remover@acme.test");
    expect(other.status).toBe(200);
    expectHeaders(other, "writes", 3, 2);
  });

  it("tRPC: mutations spend writes, queries spend reads, one budget with REST", async () => {
    const email = "admin2@acme.test";
    const first = await trpcWrite(low, email);
    expect(first.status).toBe(200);
    expectHeaders(first, "writes", 3, 2);
    expectHeaders(await restWrite(low, email), "writes", 3, 1);
    // A failure of a later check still carries the headers.
    const invalid = await request({
      port: low.port,
      path: "/api/trpc/organizations.bulkDeleteMemberships",
      method: "POST",
      headers: bearer(email),
      json: { organizationId: orgId, membershipIds: ["not-a-uuid"] },
    });
    expect(invalid.status).toBe(422);
    expectHeaders(invalid, "writes", 3, 0);
    expectRefusedTrpc(await trpcWrite(low, email), "writes", 3);
    // An over-budget mutation with a body that is not JSON: 429, not 400.
    const notJson = await raw(
      low,
      "POST",
      "/api/trpc/organizations.bulkDeleteMemberships",
      { ...bearer(email), "content-type": "application/json" },
      "{",
    );
    expectRefusedTrpc(notJson, "writes", 3);
    // Without a token: 401 before any budget.
    const anonymous = await request({
      port: low.port,
      path: "/api/trpc/organizations.bulkDeleteMemberships",
      method: "POST",
      json: { organizationId: orgId, membershipIds: [] },
    });
    expect(anonymous.status).toBe(401);
    // Queries are counted apart, through either surface.
    for (let left = 4; left >= 1; left--) {
      const res = left % 2 ? await trpcRead(low, email) : await restRead(low, email);
      expect(res.status).toBe(200);
      expectHeaders(res, "reads", 5, left);
    }
    expect((await trpcRead(low, email)).status).toBe(200);
    expectRefusedTrpc(await trpcRead(low, email), "reads", 5);
    expectRefusedRest(await restRead(low, email), "reads", 5);
  });

  it("tRPC: a batch spends once per call, and reports each budget once", async () => {
    const input = { organizationId: orgId, limit: 5 };
    const res = await request({
      port: low.port,
      path: `/api/trpc/${Array(3).fill("organizations.listMemberships").join(",")}?batch=1&input=${encodeURIComponent(JSON.stringify({ 0: input, 1: input, 2: input }))}`,
      headers: bearer("member@acme.test"),
    });
    expect(res.status).toBe(200);
    expectHeaders(res, "reads", 5, 2);
  });

  it("counts a public route per client address, before its body is read", async () => {
    const login = (json: unknown, headers: Record<string, string> = {}) =>
      request({ port: low.port, path: "/api/v1/auth/universal-auth/login", method: "POST", headers, json });
    const wrong = { clientId: randomBytes(8).toString("hex"), clientSecret: "0".repeat(64) };
    for (let left = 2; left >= 0; left--) {
      const res = await login(wrong);
      expect(res.status).not.toBe(429);
      expectHeaders(res, "writes", 3, left);
    }
    expectRefusedRest(await login(wrong), "writes", 3);
    const notJson = await raw(
      low,
      "POST",
      "/api/v1/auth/universal-auth/login",
      { "content-type": "application/json" },
      "{",
    );
    expectRefusedRest(notJson, "writes", 3);
  });

  it("0 turns a budget off: no count and no headers", async () => {
    const off = await server({ RATE_LIMIT_WRITES_PER_MINUTE: "0", RATE_LIMIT_READS_PER_MINUTE: "2" });
    for (let i = 0; i < 6; i++) {
      const res = await restWrite(off, "admin@acme.test");
      expect(res.status).toBe(200);
      expect(res.headers["ratelimit-policy"]).toBeUndefined();
      expect(res.headers.ratelimit).toBeUndefined();
    }
    expectHeaders(await restRead(off, "admin@acme.test"), "reads", 2, 1);
    expectHeaders(await trpcRead(off, "admin@acme.test"), "reads", 2, 0);
    expectRefusedRest(await restRead(off, "admin@acme.test"), "reads", 2);
  });
});

/** A redis-server of this test's own on a free port, keeping nothing on disk; stopped by its pid. */
async function startRedis(port: number): Promise<{ stop(): Promise<void> }> {
  const child: ChildProcess = spawn("redis-server", ["--port", String(port), "--save", "", "--appendonly", "no"], {
    stdio: "ignore",
  });
  const probe = new Redis(port, "127.0.0.1", { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  probe.on("error", () => {});
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await probe.connect();
      await probe.ping();
      probe.disconnect();
      break;
    } catch {
      if (Date.now() > deadline) throw new Error(`redis-server on ${port} did not start`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  return {
    async stop() {
      if (child.exitCode !== null || child.pid === undefined) return;
      const exited = new Promise((r) => child.once("exit", r));
      process.kill(child.pid, "SIGTERM");
      await exited;
    },
  };
}

describe.skipIf(!redisUp)("rate limit, shared on Redis", () => {
  it("is one budget for two instances with the same key prefix", async () => {
    const env = { RATE_LIMIT_WRITES_PER_MINUTE: "4", REDIS_URL, REDIS_KEY_PREFIX: prefix() };
    const one = await server(env);
    const two = await server(env);
    for (let left = 3; left >= 0; left--) {
      const res = await restWrite(left % 2 ? one : two, "admin@acme.test");
      expect(res.status).toBe(200);
      expectHeaders(res, "writes", 4, left);
    }
    expectRefusedRest(await restWrite(one, "admin@acme.test"), "writes", 4);
    expectRefusedTrpc(await trpcWrite(two, "admin@acme.test"), "writes", 4);
  });

  it("keeps serving from memory when Redis is unreachable, warning once", async () => {
    const s = await server({
      RATE_LIMIT_WRITES_PER_MINUTE: "2",
      REDIS_URL: `redis://127.0.0.1:${await freePort()}`,
      REDIS_KEY_PREFIX: prefix(),
      LOG_LEVEL: "warn",
    });
    expectHeaders(await restWrite(s, "admin@acme.test"), "writes", 2, 1);
    expectHeaders(await restWrite(s, "admin@acme.test"), "writes", 2, 0);
    expectRefusedRest(await restWrite(s, "admin@acme.test"), "writes", 2);
    // ioredis retries every few seconds: each failure is an error event, one warning a minute.
    await new Promise((r) => setTimeout(r, 4000));
    const log = fs.readFileSync(path.join(inject("artifactsDir"), `server-${s.port}.log`), "utf8");
    expect(log.match(/Redis unreachable/g)?.length).toBe(1);
  });

  it("falls back to memory while its Redis is down, and counts in Redis again once it is back", async () => {
    const port = await freePort();
    const keyPrefix = prefix();
    let redisServer = await startRedis(port);
    const redis = new Redis(port, "127.0.0.1", { maxRetriesPerRequest: 1 });
    redis.on("error", () => {});
    const s = await server({
      RATE_LIMIT_WRITES_PER_MINUTE: "3",
      REDIS_URL: `redis://127.0.0.1:${port}`,
      REDIS_KEY_PREFIX: keyPrefix,
    });
    try {
      const countsInRedis = async () => (await redis.keys(`${keyPrefix}rate:writes*`)).length;
      expectHeaders(await restWrite(s, "admin@acme.test"), "writes", 3, 2);
      expect(await countsInRedis()).toBe(1);

      await redisServer.stop();
      // Served from this process's memory (a count of its own, from the top of the budget).
      for (let left = 2; left >= 0; left--) expectHeaders(await restWrite(s, "admin@acme.test"), "writes", 3, left);
      expectRefusedRest(await restWrite(s, "admin@acme.test"), "writes", 3);

      redisServer = await startRedis(port);
      // The restarted Redis is empty; once the server has reconnected its counts appear there.
      const deadline = Date.now() + 20_000;
      let res: HttpAnswer;
      for (;;) {
        res = await restWrite(s, "admin@acme.test");
        if (await countsInRedis().catch(() => 0)) break;
        if (Date.now() > deadline) throw new Error("the server did not count in Redis again within 20 s");
        await new Promise((r) => setTimeout(r, 250));
      }
      expect(res.status).toBe(200);
      expectHeaders(res, "writes", 3, 2);
    } finally {
      redis.disconnect();
      await redisServer.stop();
    }
  });
});
