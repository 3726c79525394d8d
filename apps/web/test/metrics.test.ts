// GET /api/metrics over HTTP: not served without METRICS_TOKEN, refused without the right bearer,
// and after some traffic the counters it exposes have moved (requests by route, removals,
// lockout refusals), with bounded route labels and the pool and process metrics present.
import { randomBytes, randomUUID } from "node:crypto";
import { baseUrl, orgOf, REQ_ID, reseed, testDb, tokenOf } from "@roster/api/testing";
import type { DemoManifest } from "@roster/contract";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { WebServer } from "../scripts/server";
import { startExtraServer } from "./support/extra-server";
import { membershipsPath, TRPC_BULK_DELETE_PATH } from "./support/http";

const TOKEN = randomBytes(32).toString("hex");
const MEMBERSHIPS_ROUTE = "/api/v2/organizations/{organizationId}/memberships";
const UA_LOGIN = "/api/v1/auth/universal-auth/login";

/** The value of one sample in a Prometheus text exposition (0 when the series is absent). */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  for (const line of text.split("\n")) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const found = Object.fromEntries([...(m[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => found[k] === v)) return Number(m[3]);
  }
  return 0;
}

function expectEnvelope(body: unknown, status: number, error: string) {
  expect(body).toEqual({
    reqId: expect.stringMatching(REQ_ID),
    statusCode: status,
    message: expect.any(String),
    error,
  });
}

describe("GET /api/metrics", () => {
  let server: WebServer;
  let manifest: DemoManifest;

  const scrape = async () => {
    const res = await fetch(`${server.url}/api/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    return res.text();
  };

  beforeAll(async () => {
    manifest = await reseed();
    server = await startExtraServer({ METRICS_TOKEN: TOKEN, LOG_LEVEL: "warn" });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("is not served when METRICS_TOKEN is not configured", async () => {
    const res = await fetch(`${baseUrl()}/api/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(res.status).toBe(404);
    expectEnvelope(await res.json(), 404, "NotFound");
  });

  it.each([
    ["no Authorization header", undefined],
    ["a wrong token", `Bearer ${randomBytes(32).toString("hex")}`],
    ["the token without its scheme", TOKEN],
    ["the token with a suffix", `Bearer ${TOKEN}x`],
  ])("refuses %s with 401 and the error envelope", async (_, authorization) => {
    const res = await fetch(`${server.url}/api/metrics`, { headers: authorization ? { authorization } : {} });
    expect(res.status).toBe(401);
    expect(res.headers.get("www-authenticate")).toBe("Bearer");
    expectEnvelope(await res.json(), 401, "UnauthorizedError");
  });

  it("counts requests by route and status, removals and lockout refusals", async () => {
    const before = await scrape();
    const acme = orgOf(manifest, "acme");
    const admin = `Bearer ${tokenOf(manifest, "acme", "admin@acme.test")}`;
    const users = (n: number) =>
      acme.members
        .filter((m) => /^user\d+@/.test(m.email))
        .map((m) => m.membershipId)
        .slice(0, n);
    const [a, b, c, d, e] = users(5);

    // Three removed over REST, two over tRPC.
    const restRes = await fetch(`${server.url}${membershipsPath(acme.id)}`, {
      method: "DELETE",
      headers: { authorization: admin, "content-type": "application/json" },
      body: JSON.stringify({ membershipIds: [a, b, c] }),
    });
    expect(restRes.status).toBe(200);
    const trpcRes = await fetch(`${server.url}${TRPC_BULK_DELETE_PATH}`, {
      method: "POST",
      headers: { authorization: admin, "content-type": "application/json" },
      body: JSON.stringify({ organizationId: acme.id, membershipIds: [d, e] }),
    });
    expect(trpcRes.status).toBe(200);
    // A refused removal (the ids are gone) removes nothing and is counted under its status.
    const again = await fetch(`${server.url}${membershipsPath(acme.id)}`, {
      method: "DELETE",
      headers: { authorization: admin, "content-type": "application/json" },
      body: JSON.stringify({ membershipIds: [a] }),
    });
    expect(again.status).toBe(404);
    // Concrete paths that are not routes of the router: counted under the endpoint, not the path.
    const junk = await fetch(`${server.url}/api/trpc/${randomUUID()}`);
    expect(junk.status).toBe(404);

    // A Universal Auth client id locked by wrong secrets: its next attempts are refused.
    const clientId = randomUUID();
    let refused = 0;
    for (let i = 0; i < 10 && refused < 2; i++) {
      const res = await fetch(`${server.url}${UA_LOGIN}`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ clientId, clientSecret: "wrong" }),
      });
      expect([401, 429]).toContain(res.status);
      if (res.status === 429) refused++;
    }
    expect(refused).toBe(2);

    const after = await scrape();
    const moved = (name: string, labels: Record<string, string> = {}) =>
      sample(after, name, labels) - sample(before, name, labels);
    expect(moved("roster_memberships_removed_total")).toBe(5);
    expect(moved("roster_http_requests_total", { method: "DELETE", route: MEMBERSHIPS_ROUTE, status: "200" })).toBe(1);
    expect(moved("roster_http_requests_total", { method: "DELETE", route: MEMBERSHIPS_ROUTE, status: "404" })).toBe(1);
    expect(
      moved("roster_http_requests_total", {
        method: "POST",
        route: "/api/trpc/organizations.bulkDeleteMemberships",
        status: "200",
      }),
    ).toBe(1);
    expect(moved("roster_http_requests_total", { method: "GET", route: "/api/trpc", status: "404" })).toBe(1);
    expect(moved("roster_http_requests_total", { method: "POST", route: UA_LOGIN, status: "429" })).toBe(2);
    expect(moved("roster_lockout_refusals_total", { throttle: "login:ua", reason: "locked" })).toBe(2);
    expect(
      moved("roster_http_request_duration_seconds_count", {
        method: "DELETE",
        route: MEMBERSHIPS_ROUTE,
        status: "200",
      }),
    ).toBe(1);
    // Only templates and procedure names as routes: no concrete id ever becomes a label.
    expect(after).not.toContain(acme.id);
    expect(after).not.toContain(clientId);

    // The pool served these requests; the process metrics are there.
    const open = sample(after, "roster_db_pool_connections_in_use") + sample(after, "roster_db_pool_connections_idle");
    expect(open).toBeGreaterThan(0);
    expect(after).toMatch(/^roster_db_pool_waiting_requests \d+$/m);
    expect(sample(after, "process_cpu_user_seconds_total")).toBeGreaterThan(0);
    expect(after).toMatch(/^nodejs_eventloop_lag_seconds /m);

    // The removals happened in the database the counter speaks for.
    const db = await testDb();
    expect(await db.orgMembership.count({ where: { id: { in: [a, b, c, d, e] as string[] } } })).toBe(0);
  });
});
