// The web server's direct route to the Pages Router's API routes (api-routes.mjs), on builds made
// up for each case: which requests it takes (only those Next would answer with that same route,
// and nothing in front of it), what the route's handler is given, and what it does when a handler
// throws. That the running server answers exactly as Next's router does is checked over HTTP in
// api-routes-parity.test.ts.
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { gunzipSync } from "node:zlib";
import { ROUTE_CONFIG } from "@roster/api/http";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { type ApiRoutes, DIRECT_ROUTE_CONFIG, loadApiRoutes } from "../api-routes.mjs";

const CONFIG = "{ api: { bodyParser: false, externalResolver: true, responseLimit: false } }";

/** A handler module's exports, answering with what it was given. */
const handlerExports = (name: string, config = CONFIG) => `{
  config: ${config},
  default: async (req, res) => {
    const body = JSON.stringify({ route: ${JSON.stringify(name)}, query: req.query, url: req.url });
    res.setHeader("content-type", "application/json");
    res.end(req.headers["x-big"] ? body + " ".repeat(4096) : body);
  },
}`;

/** A handler module as Next's build writes it (CommonJS). */
const echo = (name: string, config = CONFIG) => `module.exports = ${handlerExports(name, config)};`;

interface Route {
  page: string;
  /** Next's named regex for the page. */
  namedRegex: string;
  routeKeys?: Record<string, string>;
  /** The built module's source, for a Pages Router route; none for an App Router one. */
  module?: string;
}

/** A page's route as Next's manifest writes it: `[name]` one segment, `[...name]` the rest. */
function route(page: string, module?: string): Route {
  const routeKeys: Record<string, string> = {};
  const pattern = page
    .split("/")
    .map((segment) => {
      const param = /^\[(\.\.\.)?(\w+)\]$/.exec(segment);
      if (!param) return segment.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      routeKeys[`nxtP${param[2]}`] = `nxtP${param[2]}`;
      return `(?<nxtP${param[2]}>${param[1] ? ".+?" : "[^/]+?"})`;
    })
    .join("/");
  return { page, namedRegex: `^${pattern}(?:/)?$`, routeKeys, ...(module === undefined ? {} : { module }) };
}

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/** Writes a build's manifests and route modules the way `next build` lays them out. */
function build(
  routes: { static?: Route[]; dynamic?: Route[] },
  extra: { manifest?: Record<string, unknown>; proxy?: string[] } = {},
): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "roster-api-routes-"));
  dirs.push(dir);
  const server = path.join(dir, "server");
  fs.mkdirSync(server);
  const entry = (r: Route) => ({
    page: r.page,
    regex: r.namedRegex,
    routeKeys: r.routeKeys ?? {},
    namedRegex: r.namedRegex,
  });
  fs.writeFileSync(
    path.join(dir, "routes-manifest.json"),
    JSON.stringify({
      version: 3,
      basePath: "",
      redirects: [],
      headers: [],
      onMatchHeaders: [],
      rewrites: { beforeFiles: [], afterFiles: [], fallback: [] },
      staticRoutes: (routes.static ?? []).map(entry),
      dynamicRoutes: (routes.dynamic ?? []).map(entry),
      ...extra.manifest,
    }),
  );
  const pages: Record<string, string> = {};
  for (const r of [...(routes.static ?? []), ...(routes.dynamic ?? [])]) {
    if (r.module === undefined) continue;
    const file = `pages${r.page}.js`;
    fs.mkdirSync(path.dirname(path.join(server, file)), { recursive: true });
    fs.writeFileSync(path.join(server, file), r.module);
    pages[r.page] = file;
  }
  fs.writeFileSync(path.join(server, "pages-manifest.json"), JSON.stringify(pages));
  fs.writeFileSync(
    path.join(server, "functions-config-manifest.json"),
    JSON.stringify({
      version: 1,
      functions: extra.proxy
        ? { "/_middleware": { runtime: "nodejs", matchers: extra.proxy.map((regexp) => ({ regexp })) } }
        : {},
    }),
  );
  return dir;
}

const servers: http.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** A server that offers each request to `api`, answering 299 "next" for those it declines. */
async function serve(api: ApiRoutes): Promise<number> {
  const server = http.createServer((req, res) => {
    if (api.dispatch(req, res, new URL(req.url ?? "/", "http://x.invalid"))) return;
    res.statusCode = 299;
    res.end("next");
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return (server.address() as AddressInfo).port;
}

/** Sends `target` as written (no client-side normalisation of the path). */
function get(
  port: number,
  target: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, path: target, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on("error", reject);
    });
    req.on("error", reject);
    req.end();
  });
}

const json = (body: Buffer) => JSON.parse(body.toString("utf8"));

const ORGS = route("/api/orgs/[orgId]/members", echo("members"));
const TRPC = route("/api/trpc/[trpc]", echo("trpc"));
const LOGIN = route("/api/login", echo("login"));

describe("the direct route to API routes", () => {
  it("holds routes to the config the shared HTTP helpers need", () => {
    expect(DIRECT_ROUTE_CONFIG).toEqual(ROUTE_CONFIG);
  });

  it("serves a Pages Router API route with its parameters and query, as Next hands them over", async () => {
    const api = await loadApiRoutes(build({ static: [LOGIN], dynamic: [ORGS] }));
    expect(api.routes.sort()).toEqual(["/api/login", "/api/orgs/[orgId]/members"]);
    const port = await serve(api);

    const members = await get(port, "/api/orgs/a%2Fb%20c/members/?limit=5&tag=x&tag=y&orgId=forged");
    expect(members.status).toBe(200);
    expect(json(members.body)).toEqual({
      route: "members",
      // The route's parameter decoded, over a query parameter of the same name; repeated names as arrays.
      query: { limit: "5", tag: ["x", "y"], orgId: "a/b c" },
      url: "/api/orgs/a%2Fb%20c/members/?limit=5&tag=x&tag=y&orgId=forged",
    });
    expect(json((await get(port, "/api/login")).body)).toMatchObject({ route: "login", query: {} });
  });

  it("leaves to Next a path Next would first normalise, a parameter that does not decode, and anything not an API route", async () => {
    const port = await serve(await loadApiRoutes(build({ static: [LOGIN], dynamic: [ORGS] })));
    for (const target of [
      "/api/orgs/x/y/../members",
      "/api/orgs/%2e%2e/members",
      "/api/orgs/./members",
      "//api/login",
      "/api//login",
      "/api/orgs/%ZZ/members",
      "/API/login",
      "/api/login/more",
      "/apilogin",
      "/login",
    ]) {
      const res = await get(port, target);
      expect({ target, status: res.status, body: res.body.toString() }).toEqual({ target, status: 299, body: "next" });
    }
  });

  it("leaves to Next a path whose first match is not a Pages Router API route (Next's order: static, then dynamic)", async () => {
    // An App Router route: in the manifests, but not a page of the Pages Router.
    const appHealth = route("/api/trpc/health");
    const port = await serve(await loadApiRoutes(build({ static: [appHealth], dynamic: [TRPC] })));
    expect((await get(port, "/api/trpc/health")).status).toBe(299);
    expect(json((await get(port, "/api/trpc/viewer.me")).body)).toMatchObject({
      route: "trpc",
      query: { trpc: "viewer.me" },
    });
  });

  it("leaves to Next a route with another config, a catch-all route, and a module without a default handler", async () => {
    const parsed = route(
      "/api/parsed",
      echo("parsed", "{ api: { bodyParser: true, externalResolver: true, responseLimit: false } }"),
    );
    const extraKey = route(
      "/api/extra",
      echo("extra", "{ api: { bodyParser: false, externalResolver: true, responseLimit: false, other: 1 } }"),
    );
    const catchAll = route("/api/files/[...path]", echo("files"));
    const noDefault = route("/api/none", `module.exports = { config: ${CONFIG} };`);
    const api = await loadApiRoutes(build({ static: [parsed, extraKey, noDefault], dynamic: [catchAll] }));
    expect(api.routes).toEqual([]);
    const port = await serve(api);
    for (const target of ["/api/parsed", "/api/extra", "/api/files/a/b", "/api/none"]) {
      expect((await get(port, target)).status).toBe(299);
    }
  });

  it("leaves to Next every path a proxy (middleware) matcher of the build matches", async () => {
    const port = await serve(
      await loadApiRoutes(build({ static: [LOGIN], dynamic: [ORGS] }, { proxy: ["^/api/orgs/(?:[^/]+)/members/?$"] })),
    );
    expect((await get(port, "/api/orgs/o1/members")).status).toBe(299);
    expect((await get(port, "/api/login")).status).toBe(200);
  });

  it.each([
    ["redirects", { redirects: [{ source: "/a", destination: "/b" }] }],
    ["rewrites", { rewrites: { beforeFiles: [], afterFiles: [{ source: "/a", destination: "/b" }], fallback: [] } }],
    ["headers", { headers: [{ source: "/a", headers: [] }] }],
    ["a base path", { basePath: "/roster" }],
    ["locales", { i18n: { locales: ["en"], defaultLocale: "en" } }],
  ])("serves nothing itself when the build has %s", async (what, manifest) => {
    const api = await loadApiRoutes(build({ static: [LOGIN] }, { manifest }));
    expect(api).toMatchObject({ routes: [], reason: `the build has ${what}` });
    expect((await get(await serve(api), "/api/login")).status).toBe(299);
  });

  it("loads a route built as an async module (its exports a promise)", async () => {
    const asyncLogin: Route = {
      ...LOGIN,
      module: `module.exports = new Promise((resolve) => setTimeout(() => resolve(${handlerExports("async")}), 10));`,
    };
    const port = await serve(await loadApiRoutes(build({ static: [asyncLogin] })));
    expect(json((await get(port, "/api/login")).body)).toMatchObject({ route: "async" });
  });

  it("compresses as Next does: a body over 1 KB for a client that takes gzip", async () => {
    const port = await serve(await loadApiRoutes(build({ static: [LOGIN] })));
    const big = await get(port, "/api/login", { "accept-encoding": "gzip", "x-big": "1" });
    expect(big.headers["content-encoding"]).toBe("gzip");
    expect(JSON.parse(gunzipSync(big.body).toString("utf8").trim())).toMatchObject({ route: "login" });
    const small = await get(port, "/api/login", { "accept-encoding": "gzip" });
    expect(small.headers["content-encoding"]).toBeUndefined();
    const plain = await get(port, "/api/login", { "x-big": "1" });
    expect(plain.headers["content-encoding"]).toBeUndefined();
  });

  it("answers 500 for a handler that throws before answering, and cuts the connection of one that throws after", async () => {
    const before = route(
      "/api/before",
      `module.exports = { config: ${CONFIG}, default: () => { throw new Error("before"); } };`,
    );
    const after = route(
      "/api/after",
      `module.exports = { config: ${CONFIG}, default: async (req, res) => {
        res.writeHead(200, { "content-type": "text/plain" }); res.write("part");
        await new Promise((r) => setTimeout(r, 20)); throw new Error("after");
      } };`,
    );
    const errors: unknown[] = [];
    const port = await serve(await loadApiRoutes(build({ static: [before, after] }), (err) => errors.push(err)));
    const res = await get(port, "/api/before");
    expect({ status: res.status, body: res.body.toString() }).toEqual({ status: 500, body: "Internal Server Error" });
    await expect(get(port, "/api/after")).rejects.toThrow();
    expect(errors.map((e) => (e as Error).message)).toEqual(["before", "after"]);
  });
});
