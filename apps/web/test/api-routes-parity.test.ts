// The run's server hands the Pages Router's API routes their requests itself (api-routes.mjs);
// a second server on the same build and database runs with API_ROUTING=next, every request
// through Next's router. Both must answer every request alike: the REST operations and tRPC,
// refused or served, on paths as odd as a client may send (dot segments, doubled or encoded
// slashes, bad escapes, another case), with and without compression. Nothing here changes data.
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { brotliDecompressSync, gunzipSync, inflateSync } from "node:zlib";
import { baseUrl } from "@roster/api/testing";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import type { WebServer } from "../scripts/server";
import { startExtraServer } from "./support/extra-server";
import { ADMIN, type Fx, MEMBER, Seeded } from "./support/fixtures";

const seeded = new Seeded();
let viaNext: WebServer;
let fx: Fx;

beforeAll(async () => {
  fx = await seeded.get();
  viaNext = await startExtraServer({ API_ROUTING: "next" });
}, 120_000);

afterAll(async () => {
  await viaNext?.stop();
});

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** Headers that differ between two answers to the same request by nature: its time, its id, the shared rate counters. */
const VARYING = /^(date|x-request-id|ratelimit|x-ratelimit|retry-after|keep-alive|connection)/;

/** One request with its target sent as written; the answer with varying parts taken out. */
function send(
  port: number,
  req: { method: string; target: string; headers?: Record<string, string>; body?: string },
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...req.headers };
    if (req.body !== undefined) headers["content-length"] = String(Buffer.byteLength(req.body));
    const r = http.request(
      { host: "127.0.0.1", port, method: req.method, path: req.target, headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("error", reject);
        res.on("end", () => {
          let body = Buffer.concat(chunks);
          const decode = { gzip: gunzipSync, deflate: inflateSync, br: brotliDecompressSync }[
            String(res.headers["content-encoding"]) as "gzip"
          ];
          if (decode && body.length > 0) body = decode(body);
          const kept = Object.fromEntries(Object.entries(res.headers).filter(([name]) => !VARYING.test(name)));
          // A page's policy carries the request's own nonce.
          const policy = kept["content-security-policy"];
          if (typeof policy === "string") kept["content-security-policy"] = policy.replace(/'nonce-[^']*'/, "'nonce'");
          const id = res.headers["x-request-id"];
          let text = body.toString("utf8");
          if (typeof id === "string" && id) text = text.split(id).join("<request id>");
          // A page's answer (Next's 404 and error pages) carries a fresh nonce and build ids.
          if (/^text\/html/.test(String(res.headers["content-type"]))) text = `<html: ${text.length > 0}>`;
          resolve({ status: res.statusCode ?? 0, headers: kept, body: text });
        });
      },
    );
    r.on("error", reject);
    r.end(req.body);
  });
}

const portOf = (url: string) => Number(new URL(url).port);

/**
 * tRPC mutation calls refused at each of the contract's checks, and with bodies as odd as a
 * client may send; none of them changes anything.
 */
function trpcMutationRefusals(
  org: string,
  admin: Record<string, string>,
  member: Record<string, string>,
): { method: string; target: string; headers?: Record<string, string>; body?: string }[] {
  const json = { "content-type": "application/json" };
  const bulkDelete = "/api/trpc/organizations.bulkDeleteMemberships";
  const removal = (ids: unknown) => JSON.stringify({ organizationId: org, membershipIds: ids });
  const post = (headers: Record<string, string>, body?: string, target = bulkDelete) => ({
    method: "POST",
    target,
    headers,
    ...(body === undefined ? {} : { body }),
  });
  return [
    post(json, removal(["00000000-0000-4000-8000-000000000001"])),
    post({ ...json, authorization: "Bearer nonsense" }, removal(["00000000-0000-4000-8000-000000000001"])),
    post({ ...member, ...json }, removal(["00000000-0000-4000-8000-000000000001"])),
    post({ ...admin, ...json }, removal("x")),
    post({ ...admin, ...json }, removal([])),
    post(
      { ...admin, ...json },
      JSON.stringify({
        organizationId: "00000000-0000-4000-8000-000000000000",
        membershipIds: ["00000000-0000-4000-8000-000000000001"],
      }),
    ),
    post({ ...admin, ...json }, removal(["00000000-0000-4000-8000-000000000001"])),
    post(
      { ...admin, ...json },
      removal(Array.from({ length: 1001 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`)),
    ),
    post({ ...admin, ...json }, `{"organizationId":"${org}","membershipIds":["${"x".repeat(1_100_000)}"]}`),
    post({ ...admin, ...json }, ""),
    post({ ...admin, ...json }),
    post({ ...admin, ...json }, "null"),
    post({ ...admin, ...json }, "[1,2]"),
    post({ ...admin, ...json }, `\uFEFF${removal("x")}`),
    post({ ...admin, ...json }, `{"organizationId":"${org}","membershipIds":["\uD800"]}`),
    post({ ...admin, "content-type": "application/json; charset=utf-8" }, removal("x")),
    post({ ...admin, "content-type": "Application/JSON" }, removal("x")),
    post({ ...admin, "content-type": "text/plain" }, removal("x")),
    post(admin, removal("x")),
    post({ ...admin, ...json, "idempotency-key": "" }, removal("x")),
    post({ ...admin, ...json, "idempotency-key": "k".repeat(300) }, removal("x")),
    post({ ...admin, ...json }, removal("x"), `${bulkDelete}/`),
    post({ ...admin, ...json }, removal("x"), "/api/trpc/organizations.bulkDeleteMemberships%2F"),
    post({ ...admin, ...json }, removal("x"), "/api/trpc/organizations.restoreMemberships"),
    post({ ...admin, ...json }, removal("x"), "/api/trpc/viewer.me"),
    { method: "PUT", target: bulkDelete, headers: { ...admin, ...json }, body: removal("x") },
  ];
}

describe("API routes served directly and through Next's router", () => {
  it("the run's server serves every Pages Router API route directly; API_ROUTING=next serves none", () => {
    const log = (file: string) => fs.readFileSync(path.join(inject("artifactsDir"), file), "utf8");
    const direct = /API routes served directly: (.*)/.exec(log("server.log"))?.[1]?.split(" ").sort();
    expect(direct).toEqual([
      "/api/trpc/[trpc]",
      "/api/v1/auth/token/renew",
      "/api/v1/auth/token/revoke",
      "/api/v1/auth/universal-auth/login",
      "/api/v2/organizations/[organizationId]/memberships",
      "/api/v2/organizations/[organizationId]/memberships/restore",
    ]);
    expect(log(`server-${viaNext.port}.log`)).toContain("API routes served through Next's router (API_ROUTING=next)");
  });

  it("answer alike, request by request", async () => {
    const org = fx.acme.id;
    const members = `/api/v2/organizations/${org}/memberships`;
    const admin = { authorization: fx.bearer(ADMIN) };
    const member = { authorization: fx.bearer(MEMBER) };
    const json = { "content-type": "application/json" };
    const paths = [
      members,
      `${members}/`,
      `${members}?limit=2&limit=3`,
      `${members}/restore`,
      `/api/v2/organizations/${org.toUpperCase()}/memberships`,
      `/API/v2/organizations/${org}/memberships`,
      `/api/v2/organizations/${org}/Memberships`,
      "/api/v2/organizations/%ZZ/memberships",
      "/api/v2/organizations/a%2Fb/memberships",
      "/api/v2/organizations/%E2%82%AC/memberships",
      `//api/v2/organizations/${org}/memberships`,
      `/api//v2/organizations/${org}/memberships`,
      `/api/v2/organizations/${org}/x/../memberships`,
      "/api/v2/organizations/%2e%2e/memberships",
      "/api/v2/organizations//memberships",
      `/api/v2/organizations/${org}\\memberships`,
      "/api/v1/auth/token/renew",
      "/api/v1/auth/token/revoke/",
      "/api/v1/auth/universal-auth/login",
      "/api/trpc/viewer.me",
      "/api/trpc/no.such.procedure",
      "/api/trpc/",
      "/api/no-such-route",
    ];
    const requests: { method: string; target: string; headers?: Record<string, string>; body?: string }[] = [];
    for (const target of paths) {
      for (const method of ["GET", "HEAD", "OPTIONS"]) requests.push({ method, target });
      for (const method of ["DELETE", "POST"]) {
        // Refused before any change: no token, then a body the schema refuses with one.
        requests.push({ method, target, headers: json, body: '{"membershipIds":[]}' });
        requests.push({ method, target, headers: { ...admin, ...json }, body: '{"membershipIds":"x"}' });
      }
    }
    const trpcInput = (input: unknown) => `input=${encodeURIComponent(JSON.stringify(input))}`;
    requests.push(
      // Reads, served: the listing (plain and compressed), tRPC queries, single and batched.
      { method: "GET", target: members, headers: admin },
      { method: "GET", target: members, headers: { ...admin, "accept-encoding": "gzip" } },
      // As browsers, curl --compressed and Python's requests ask: Next's router answers gzip (its
      // compression has no brotli), and so must the direct route.
      { method: "GET", target: members, headers: { ...admin, "accept-encoding": "gzip, deflate, br, zstd" } },
      { method: "GET", target: members, headers: { ...admin, "accept-encoding": "br" } },
      { method: "GET", target: members, headers: { ...admin, "accept-encoding": "deflate" } },
      { method: "GET", target: members, headers: member },
      { method: "GET", target: "/api/trpc/viewer.me", headers: admin },
      {
        method: "GET",
        target: `/api/trpc/organizations.listMemberships?${trpcInput({ organizationId: org })}`,
        headers: { ...admin, "accept-encoding": "gzip" },
      },
      {
        method: "GET",
        target: `/api/trpc/viewer.me,organizations.listMemberships?batch=1&${trpcInput({ 1: { organizationId: org } })}`,
        headers: admin,
      },
      // Refused: another organization's removal by a plain member, an unknown organization, a
      // body too large, a wrong content type, a mutation sent as a query.
      {
        method: "DELETE",
        target: members,
        headers: { ...member, ...json },
        body: `{"membershipIds":["${fx.id(ADMIN)}"]}`,
      },
      {
        method: "DELETE",
        target: "/api/v2/organizations/00000000-0000-4000-8000-000000000000/memberships",
        headers: { ...admin, ...json },
        body: `{"membershipIds":["${fx.id(MEMBER)}"]}`,
      },
      {
        method: "DELETE",
        target: members,
        headers: { ...admin, ...json },
        body: `{"membershipIds":["${"x".repeat(2_000_000)}"]}`,
      },
      { method: "DELETE", target: members, headers: { ...admin, "content-type": "text/plain" }, body: "membershipIds" },
      {
        method: "GET",
        target: `/api/trpc/organizations.bulkDeleteMemberships?${trpcInput({ organizationId: org })}`,
        headers: admin,
      },
      {
        method: "POST",
        target: "/api/trpc/organizations.bulkDeleteMemberships",
        headers: { ...admin, ...json },
        body: "{",
      },
      // tRPC mutations, refused: the lone calls the server answers itself (serveLoneMutation) and
      // the ones it leaves to tRPC's adapter, against the adapter's answers on the other server.
      ...trpcMutationRefusals(org, admin, member),
    );
    const bulkDelete = "/api/trpc/organizations.bulkDeleteMemberships";
    requests.push(
      // A lone call that takes the batch form, or a stream, goes to the adapter on both.
      {
        method: "POST",
        target: `${bulkDelete}?batch=1`,
        headers: { ...admin, ...json },
        body: `{"0":{"organizationId":"${org}","membershipIds":"x"}}`,
      },
      {
        method: "POST",
        target: bulkDelete,
        headers: { ...admin, ...json, "trpc-accept": "application/jsonl" },
        body: `{"organizationId":"${org}","membershipIds":"x"}`,
      },
      {
        method: "POST",
        target: "/api/v1/auth/universal-auth/login",
        headers: json,
        body: '{"clientId":"x","clientSecret":"y"}',
      },
    );

    const direct = portOf(baseUrl());
    const next = viaNext.port;
    const mismatches: unknown[] = [];
    for (const req of requests) {
      const a = await send(direct, req);
      const b = await send(next, req);
      try {
        expect(a).toEqual(b);
      } catch {
        mismatches.push({ request: { ...req, body: req.body?.slice(0, 60) }, direct: a, next: b });
      }
    }
    expect(mismatches).toEqual([]);
    // Served, not only refused: the listing and the tRPC reads answered 200 on both.
    const served = await send(direct, {
      method: "GET",
      target: members,
      headers: { ...admin, "accept-encoding": "gzip" },
    });
    expect(served.status).toBe(200);
    expect(served.headers["content-encoding"]).toBe("gzip");
    expect(JSON.parse(served.body).users.length).toBeGreaterThan(10);
  }, 120_000);

  it("a tRPC removal, and its replay by Idempotency-Key, answer alike (each server removes its own member)", async () => {
    seeded.dirty();
    const org = fx.acme.id;
    const servers = [portOf(baseUrl()), viaNext.port];
    /** The answer with every value replaced by its type: the two servers removed different members. */
    const shape = (value: unknown): unknown =>
      Array.isArray(value)
        ? value.map(shape)
        : value && typeof value === "object"
          ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, shape(v)]))
          : typeof value;
    const answers = [];
    for (const [i, port] of servers.entries()) {
      const req = {
        method: "POST",
        target: "/api/trpc/organizations.bulkDeleteMemberships",
        headers: {
          authorization: fx.bearer(ADMIN),
          "content-type": "application/json",
          "idempotency-key": `"parity-${i}-${Date.now()}"`,
        },
        body: JSON.stringify({ organizationId: org, membershipIds: [fx.id(`user06${i + 1}@acme.test`)] }),
      };
      const first = await send(port, req);
      const replay = await send(port, req);
      expect(first.status).toBe(200);
      expect(JSON.parse(first.body).result.data.memberships[0].id).toBe(fx.id(`user06${i + 1}@acme.test`));
      expect(replay.headers["idempotent-replayed"]).toBe("true");
      answers.push([first, replay].map((a) => ({ ...a, body: shape(JSON.parse(a.body)) })));
    }
    expect(answers[0]).toEqual(answers[1]);
  }, 60_000);
});
