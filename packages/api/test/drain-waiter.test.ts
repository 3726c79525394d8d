// A streamed answer waits for its response to drain with one listener for the whole answer. Next
// compresses API answers with the `compression` middleware, which hands 'drain' listeners to its
// gzip stream, where removing them through the response does not reach: a listener added per wait
// piled up there (one per chunk of a 100,000-member listing) and slowed the listing down. Here the
// same middleware (Next's copy) sits in front of a plain Node server.
import http from "node:http";
import type { AddressInfo } from "node:net";
import zlib from "node:zlib";
// @ts-expect-error: Next's compiled copy of `compression` ships without types
import compression from "next/dist/compiled/compression";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { drainWaiter } from "../src/http/rest";

const CHUNKS = 200;
const chunk = Buffer.from(JSON.stringify(Array.from({ length: 800 }, (_, i) => ({ i, x: Math.random() }))));

let server: http.Server;
let url: string;
const warnings: string[] = [];
const onWarning = (w: Error) => warnings.push(w.name);

beforeAll(async () => {
  process.on("warning", onWarning);
  const compress = compression();
  server = http.createServer((req, res) => {
    compress(req, res, async () => {
      res.writeHead(200, { "content-type": "application/json" });
      const writable = drainWaiter(res);
      for (let i = 0; i < CHUNKS; i++) if (!res.write(chunk)) await writable();
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});

afterAll(() => {
  process.off("warning", onWarning);
  server.close();
});

function get(encoding: string): Promise<{ encoding?: string; body: Buffer }> {
  return new Promise((resolve, reject) => {
    http
      .get(url, { headers: { "accept-encoding": encoding } }, (res) => {
        const parts: Buffer[] = [];
        res.on("data", (c: Buffer) => parts.push(c));
        res.on("end", () => resolve({ encoding: res.headers["content-encoding"], body: Buffer.concat(parts) }));
        res.on("error", reject);
      })
      .on("error", reject);
  });
}

describe("drainWaiter", () => {
  it("waits through gzip with one listener: the whole body arrives, and no listener piles up", async () => {
    const gz = await get("gzip");
    expect(gz.encoding).toBe("gzip");
    expect(zlib.gunzipSync(gz.body).equals(Buffer.concat(Array(CHUNKS).fill(chunk)))).toBe(true);
    const plain = await get("identity");
    expect(plain.encoding).toBeUndefined();
    expect(plain.body.byteLength).toBe(chunk.byteLength * CHUNKS);
    await new Promise((resolve) => setImmediate(resolve));
    expect(warnings).not.toContain("MaxListenersExceededWarning");
  });
});
