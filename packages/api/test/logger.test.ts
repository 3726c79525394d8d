// The request log in both formats, through the real logger and http/log.ts's line.
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger } from "../src/logger";

function collect() {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  return { stream, text: () => chunks.join("") };
}

const REQUEST = {
  reqId: "req-8kaQDV3XOomiTo",
  method: "DELETE",
  route: "/api/v2/organizations/[organizationId]/memberships",
  path: "/api/v2/organizations/0b6f3c1e-2a4d-4c1e-9d7b-1f2e3d4c5b6a/memberships",
  status: 200,
  durationMs: 12.3,
  callerId: "user-1",
};

describe("request logs", () => {
  it("writes one JSON line per request for a collector", () => {
    const out = collect();
    const logger = createLogger({ logLevel: "info", logFormat: "json" }, out.stream);
    logger.info(REQUEST, "request");
    logger.info(
      { ...REQUEST, reqId: "req-second000000a", authorization: "Bearer secret", headers: { cookie: "session" } },
      "request",
    );
    const lines = out.text().trim().split("\n");
    expect(lines).toHaveLength(2);
    const first = JSON.parse(lines[0] as string);
    expect(first).toMatchObject({ ...REQUEST, msg: "request", level: 30, service: "roster" });
    expect(first.time).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(lines[1]).not.toContain("Bearer secret");
    expect(lines[1]).not.toContain("session");
  });

  it("writes one readable line per request for a terminal: time, method, path, status, ms, reqId", () => {
    const out = collect();
    const logger = createLogger({ logLevel: "info", logFormat: "pretty" }, out.stream);
    logger.info(REQUEST, "request");
    logger.warn({ detail: 1 }, "something else");
    const lines = out.text().trim().split("\n");
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(
      /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: DELETE \/api\/v2\/organizations\/0b6f3c1e-2a4d-4c1e-9d7b-1f2e3d4c5b6a\/memberships 200 12\.3ms req-8kaQDV3XOomiTo$/,
    );
    expect(lines[0]).not.toContain("{");
    expect(lines[1]).toMatch(/WARN: something else/);
  });

  it("honours the level in both formats", () => {
    for (const logFormat of ["json", "pretty"] as const) {
      const out = collect();
      createLogger({ logLevel: "warn", logFormat }, out.stream).info(REQUEST, "request");
      expect(out.text()).toBe("");
    }
  });
});
