// The web server: Next.js, behind a plain Node HTTP server that records each request's peer
// address in a header of its own (overwriting anything a client sent under that name), so that
// IP checks never trust an address a client made up. Started by apps/web/scripts/server.ts.
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";
import next from "next";

export const PEER_IP_HEADER = "x-roster-peer-ip";
// The page a request asked for, so that sign-in can bring the browser back to it.
export const REQUEST_PATH_HEADER = "x-roster-request-path";

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error("usage: node server.mjs <port>");
  process.exit(2);
}

const app = next({ dev: false, dir: path.dirname(fileURLToPath(import.meta.url)), port });
const handle = app.getRequestHandler();
await app.prepare();

/** The path and query a browser asked for, without Next's own `_rsc` cache-busting parameter. */
function requestPath(raw) {
  try {
    const url = new URL(raw, "http://roster.invalid");
    url.searchParams.delete("_rsc");
    return `${url.pathname}${url.search}`;
  } catch {
    return "/";
  }
}

const server = http.createServer((req, res) => {
  req.headers[PEER_IP_HEADER] = (req.socket.remoteAddress ?? "").replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, "");
  req.headers[REQUEST_PATH_HEADER] = requestPath(req.url ?? "/");
  void handle(req, res);
});
server.listen(port, () => console.log(`Roster web server listening on port ${port}`));

for (const signal of ["SIGTERM", "SIGINT"]) {
  process.once(signal, () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
    setTimeout(() => process.exit(0), 3000).unref();
  });
}
