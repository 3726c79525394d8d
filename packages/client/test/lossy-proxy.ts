// A reverse proxy on the loopback address in front of the test server, which spoils chosen
// answers the way a network or a gateway does: the server gets the request and acts on it, then
// its answer is lost (the client's connection is cut) or replaced by a gateway's 504. Or the
// proxy answers 429 itself without forwarding. Everything else passes through unchanged.
import http from "node:http";
import type { AddressInfo } from "node:net";

export type Spoil = "drop" | "504" | "429";

export interface LossyProxy {
  url: string;
  /** Requests seen, as `METHOD path`, in order. */
  seen: string[];
  close(): Promise<void>;
}

/**
 * `spoil` picks what becomes of each request (its method, path, and how many requests came
 * before it); null passes it through.
 */
export async function lossyProxy(
  upstream: string,
  spoil: (req: { method: string; path: string; index: number }) => Spoil | null,
): Promise<LossyProxy> {
  const target = new URL(upstream);
  const seen: string[] = [];
  const server = http.createServer((req, res) => {
    const method = req.method ?? "GET";
    const path = req.url ?? "/";
    const how = spoil({ method, path, index: seen.length });
    seen.push(`${method} ${path}`);
    if (how === "429") {
      req.resume();
      res.writeHead(429, { "retry-after": "1", "content-type": "text/plain" });
      res.end("slow down");
      return;
    }
    const forward = http.request(
      { host: target.hostname, port: target.port, method, path, headers: { ...req.headers, host: target.host } },
      (answer) => {
        const chunks: Buffer[] = [];
        answer.on("data", (c: Buffer) => chunks.push(c));
        answer.on("end", () => {
          // The server has answered in full: it acted. Now the answer is spoiled, or passed on.
          if (how === "drop") {
            req.socket.destroy();
            return;
          }
          if (how === "504") {
            res.writeHead(504, { "content-type": "text/plain" });
            res.end("gateway timeout");
            return;
          }
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          res.end(Buffer.concat(chunks));
        });
      },
    );
    forward.on("error", () => req.socket.destroy());
    req.pipe(forward);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
