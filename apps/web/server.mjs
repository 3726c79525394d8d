// The web server: Next.js, behind a plain Node HTTP server that records each request's peer
// address in a header of its own (overwriting anything a client sent under that name), so that
// IP checks never trust an address a client made up. Started by apps/web/scripts/server.ts.
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";
import next from "next";

export const PEER_IP_HEADER = "x-roster-peer-ip";

const port = Number(process.argv[2]);
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error("usage: node server.mjs <port>");
  process.exit(2);
}

const app = next({ dev: false, dir: path.dirname(fileURLToPath(import.meta.url)), port });
const handle = app.getRequestHandler();
await app.prepare();

const server = http.createServer((req, res) => {
  req.headers[PEER_IP_HEADER] = (req.socket.remoteAddress ?? "").replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, "");
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
