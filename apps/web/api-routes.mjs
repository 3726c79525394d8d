// The API routes of Next's Pages Router (src/pages/api), served by the web server straight from
// the modules Next built for them, without a pass through Next's request handling. Next's router
// costs an API request more CPU than the route itself (about 0.7 ms of the 1.3 ms of a 1-id
// removal on a 2-core machine, docs/performance.md): it resolves the route again from the
// manifests, looks for a proxy, prepares the route module's context, and wraps the response.
//
// The routes stay Next's: each is a file under src/pages/api, built by `next build`, and Next
// serves it the same way when this module steps aside (API_ROUTING=next, and every request this
// module does not take). A request is taken only when Next would answer it with that same route
// and nothing before it, judged from the build's own manifests:
// - the build has no base path, locales, redirects, rewrites or header rules;
// - the path is already in the form Next routes on (the WHATWG URL parser leaves it unchanged: no
//   dot segments, no repeated slashes, no backslashes) and its parameters decode;
// - no proxy (middleware) matcher of the build matches it;
// - the first of the build's routes to match it (static ones before dynamic ones, in the
//   manifest's order, as Next resolves them) is an API route of the Pages Router with one
//   segment per parameter, exporting a default handler and exactly the config the shared HTTP
//   helpers need (ROUTE_CONFIG in @roster/api/http: Next's body parser off, no response limit).
// The handler then gets what Next gives it: `req.query` (the query string, repeated names as
// arrays, then the route's parameters), compression as Next applies it, and a 500 if it throws
// before answering. Compression is Next's own copy of the middleware, so an answer comes in the
// encoding Next would choose (gzip or deflate: Next's copy has no brotli, which the npm package
// added in 1.8 and preferred whenever a client accepts it, as browsers and curl do), at zlib's
// fastest level rather than Next's default: on the listing's JSON, level 1 gave 6.4 MB against
// level 6's 6.3 MB of 55 MB, in 234 against 567 ms (docs/performance.md, change 34). The
// content is the same either way; only the compressed bytes differ.
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { Duplex } from "node:stream";
import zlib from "node:zlib";
import compression from "next/dist/compiled/compression/index.js";

/** The config every directly served route must export (held equal to ROUTE_CONFIG by a test). */
export const DIRECT_ROUTE_CONFIG = { api: { bodyParser: false, externalResolver: true, responseLimit: false } };

const noop = () => {};

function readJson(file) {
  return JSON.parse(fs.readFileSync(file, "utf8"));
}

function sameConfig(config) {
  const api = config?.api;
  if (!api || typeof api !== "object") return false;
  const want = DIRECT_ROUTE_CONFIG.api;
  const keys = Object.keys(api);
  return keys.length === Object.keys(want).length && keys.every((k) => api[k] === want[k]);
}

/** Why the build's routing cannot be mirrored here (so every request goes through Next), or null. */
function unsupportedRouting(routes) {
  if (routes.basePath) return "a base path";
  if (routes.i18n) return "locales";
  for (const key of ["redirects", "headers", "onMatchHeaders"]) if (routes[key]?.length) return key;
  const rewrites = routes.rewrites ?? [];
  const all = Array.isArray(rewrites)
    ? rewrites
    : [...(rewrites.beforeFiles ?? []), ...(rewrites.afterFiles ?? []), ...(rewrites.fallback ?? [])];
  if (all.length) return "rewrites";
  return null;
}

/** Every proxy (middleware) matcher of the build, Node or edge runtime. */
function proxyMatchers(serverDir) {
  const out = [];
  const functions = path.join(serverDir, "functions-config-manifest.json");
  if (fs.existsSync(functions)) {
    for (const fn of Object.values(readJson(functions).functions ?? {})) {
      for (const m of fn.matchers ?? []) out.push(new RegExp(m.regexp));
    }
  }
  const middleware = path.join(serverDir, "middleware-manifest.json");
  if (fs.existsSync(middleware)) {
    for (const mw of Object.values(readJson(middleware).middleware ?? {})) {
      for (const m of mw.matchers ?? []) out.push(new RegExp(m.regexp));
    }
  }
  return out;
}

/** The query string as Next's API routes see it: each name once, repeated ones as arrays. */
function queryObject(searchParams) {
  const query = {};
  for (const [name, value] of searchParams) {
    const had = query[name];
    if (had === undefined) query[name] = value;
    else if (Array.isArray(had)) had.push(value);
    else query[name] = [had, value];
  }
  return query;
}

/**
 * Reads the build in `distDir` (apps/web/.next) and loads its directly served routes. Returns
 * `{ routes, dispatch }`: `routes` names the pages served directly; `dispatch(req, res, url)`
 * serves the request and returns true when it is one of theirs, and returns false (having
 * touched nothing) when Next should serve it. `url` is the request's target parsed against any
 * origin. `onError` hears of a handler that threw.
 */
export async function loadApiRoutes(distDir, onError = (err) => console.error(err)) {
  const serverDir = path.join(distDir, "server");
  const routes = readJson(path.join(distDir, "routes-manifest.json"));
  const unsupported = unsupportedRouting(routes);
  if (unsupported) return { routes: [], reason: `the build has ${unsupported}`, dispatch: () => false };
  const pages = readJson(path.join(serverDir, "pages-manifest.json"));
  const requireBuilt = createRequire(path.join(serverDir, "pages-manifest.json"));

  // In Next's order of resolution: static routes, then dynamic ones as the manifest sorts them.
  const table = [];
  for (const r of [...(routes.staticRoutes ?? []), ...(routes.dynamicRoutes ?? [])]) {
    const entry = { page: r.page, regex: new RegExp(r.namedRegex ?? r.regex), keys: r.routeKeys ?? {}, handler: null };
    const file = pages[r.page];
    const oneSegmentParams = !/\[\[?\.\.\./.test(r.page);
    if (file && r.page.startsWith("/api/") && oneSegmentParams) {
      // A route module may be an async module (top-level await): its exports come as a promise.
      const mod = await requireBuilt(`./${file}`);
      if (typeof mod?.default === "function" && sameConfig(mod.config)) entry.handler = mod.default;
    }
    table.push(entry);
  }
  const matchers = proxyMatchers(serverDir);
  const compress = compression({ level: zlib.constants.Z_BEST_SPEED });

  function dispatch(req, res, url) {
    const raw = req.url ?? "";
    const q = raw.indexOf("?");
    const rawPath = q < 0 ? raw : raw.slice(0, q);
    if (!rawPath.startsWith("/api/") || rawPath !== url.pathname) return false;
    for (const m of matchers) if (m.test(rawPath)) return false;
    let route = null;
    let match = null;
    for (const entry of table) {
      match = entry.regex.exec(rawPath);
      if (match) {
        route = entry;
        break;
      }
    }
    if (!route?.handler) return false;
    const params = {};
    try {
      for (const [group, name] of Object.entries(route.keys)) {
        params[name.replace(/^nxtP/, "")] = decodeURIComponent(match.groups?.[group] ?? "");
      }
    } catch {
      return false;
    }
    req.query = Object.assign(queryObject(url.searchParams), params);
    compress(req, res, () => {});
    // On a client that goes away, the middleware never ends its zlib stream: end it here, as Next
    // does (the middleware hands a 'drain' listener to that stream, and so gives it away).
    res.once("close", () => {
      if (res.writableFinished) return;
      const stream = res.on("drain", noop);
      if (stream === res || !(stream instanceof Duplex)) res.off("drain", noop);
      else stream.destroy();
    });
    let answer;
    try {
      answer = route.handler(req, res);
    } catch (err) {
      answer = Promise.reject(err);
    }
    Promise.resolve(answer).catch((err) => {
      onError(err);
      if (!res.headersSent) {
        res.statusCode = 500;
        res.setHeader("content-type", "text/plain; charset=utf-8");
        res.end("Internal Server Error");
      } else res.destroy();
    });
    return true;
  }

  return { routes: table.filter((e) => e.handler).map((e) => e.page), reason: null, dispatch };
}
