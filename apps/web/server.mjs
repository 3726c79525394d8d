// The web server: Next.js, behind a plain Node HTTP server that records each request's peer
// address in a header of its own (overwriting anything a client sent under that name), so that
// IP checks never trust an address a client made up, and that hands the Pages Router's API routes
// their requests itself (api-routes.mjs). Started by apps/web/scripts/server.ts.
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";
import next from "next";
import { loadApiRoutes } from "./api-routes.mjs";
import { apiSecurityHeaders, isApiPath } from "./security-headers.mjs";

export const PEER_IP_HEADER = "x-roster-peer-ip";
// The page a request asked for, so that sign-in can bring the browser back to it.
export const REQUEST_PATH_HEADER = "x-roster-request-path";

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error("usage: node server.mjs <port>");
  process.exit(2);
}

// How API routes are reached: "direct" (the default) hands the Pages Router's API routes their
// requests from here (api-routes.mjs); "next" sends every request through Next's own handler.
const apiRouting = process.env.API_ROUTING || "direct";
if (apiRouting !== "direct" && apiRouting !== "next") {
  console.error(`API_ROUTING must be "direct" or "next", got "${apiRouting}"`);
  process.exit(2);
}

const dir = path.dirname(fileURLToPath(import.meta.url));
const app = next({ dev: false, dir, port });
const handle = app.getRequestHandler();
await app.prepare();
const api =
  apiRouting === "direct"
    ? await loadApiRoutes(path.join(dir, ".next"))
    : { routes: [], reason: "API_ROUTING=next", dispatch: () => false };
console.log(
  api.routes.length
    ? `API routes served directly: ${api.routes.join(" ")}`
    : `API routes served through Next's router (${api.reason ?? "no route qualifies"})`,
);

/**
 * The path and query a browser asked for, without Next's own `_rsc` cache-busting parameter,
 * whether it is an API route's (by the path as sent: Next matches routes on it undecoded), and the
 * target parsed.
 */
function requestTarget(raw) {
  try {
    const url = new URL(raw, "http://roster.invalid");
    const api = isApiPath(url.pathname);
    // An API route sees its query as sent.
    if (!api) url.searchParams.delete("_rsc");
    return { path: `${url.pathname}${url.search}`, api, url };
  } catch {
    return { path: "/", api: false, url: null };
  }
}

/** Reads a whole number of milliseconds from the environment (the web server starts before any config is loaded). */
function msFromEnv(name, def) {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return def;
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || n > 600_000) {
    console.error(`${name} must be a whole number of milliseconds up to 600000, got "${raw}"`);
    process.exit(2);
  }
  return n;
}

// How long a drain may take before the process gives up on the requests still running.
const shutdownTimeoutMs = msFromEnv("SHUTDOWN_TIMEOUT_MS", 25_000);
// How long to keep accepting (answering not ready) after SIGTERM, so that a load balancer's
// health check takes the instance out before it refuses connections.
const shutdownDelayMs = msFromEnv("SHUTDOWN_DELAY_MS", 0);

// Shared with the readiness route (same process) and the database client (see @roster/db).
const DRAINING = Symbol.for("roster.draining");
const DB = Symbol.for("roster.db");

// The security headers of every API response, the same on each (the proxy sets pages' own).
const apiHeaders = Object.entries(apiSecurityHeaders(process.env.NEXTAUTH_URL || undefined));

const server = http.createServer((req, res) => {
  req.headers[PEER_IP_HEADER] = (req.socket.remoteAddress ?? "").replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, "");
  const target = requestTarget(req.url ?? "/");
  req.headers[REQUEST_PATH_HEADER] = target.path;
  if (target.api) for (const [name, value] of apiHeaders) res.setHeader(name, value);
  // A draining instance closes each connection after its answer, so keep-alive clients move on.
  if (globalThis[DRAINING]) res.setHeader("connection", "close");
  if (target.api && api.dispatch(req, res, target.url)) return;
  void handle(req, res);
});
server.listen(port, () => console.log(`Roster web server listening on port ${port}`));

async function closePool() {
  const handle = globalThis[DB];
  if (!handle) return;
  try {
    await (await handle).close();
  } catch (err) {
    console.error(`closing the database pool: ${err instanceof Error ? err.message : String(err)}`);
  }
}

/**
 * SIGTERM drains: readiness answers 503 at once (liveness keeps answering), new connections are
 * refused after SHUTDOWN_DELAY_MS, the requests in flight finish, the pool closes and the process
 * exits 0. Past SHUTDOWN_TIMEOUT_MS it exits 1 with whatever is still running cut off.
 */
function drain(signal) {
  if (globalThis[DRAINING]) return;
  globalThis[DRAINING] = true;
  console.log(`${signal}: draining (up to ${shutdownDelayMs + shutdownTimeoutMs} ms)`);
  setTimeout(() => {
    console.error(`Drain did not finish within ${shutdownTimeoutMs} ms: exiting with requests still running`);
    process.exit(1);
  }, shutdownDelayMs + shutdownTimeoutMs).unref();
  setTimeout(() => {
    server.close(async () => {
      await closePool();
      console.log("Drained: exiting");
      process.exit(0);
    });
    // Connections that go idle after their last answer are closed as they do.
    server.closeIdleConnections();
    setInterval(() => server.closeIdleConnections(), 100).unref();
  }, shutdownDelayMs);
}

process.once("SIGTERM", () => drain("SIGTERM"));
process.once("SIGINT", () => drain("SIGINT"));
