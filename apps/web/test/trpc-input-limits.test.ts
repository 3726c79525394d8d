// Abuse of inputs on the tRPC surface over real HTTP: the REST body limit (1 MiB, counted on the
// stream), at most 10 calls a batch, the id count checked before the ids (both surfaces),
// malformed JSON, an undecodable cookie, and a cursor that names no page.
import http from "node:http";
import net from "node:net";
import { DISCARD_LIMIT } from "@roster/api/http";
import { baseUrl, MAX_BULK_DELETE, MiB, MSG, REQ_ID, testDb } from "@roster/api/testing";
import { getConfig } from "@roster/config";
import { beforeEach, describe, expect, it } from "vitest";
import { ADMIN, type Fx, Seeded } from "./support/fixtures";
import { membershipsPath, sendRaw } from "./support/http";
import { unchangedProbe } from "./support/snapshots";
import { restHeaders } from "./support/surfaces";

const seeded = new Seeded();
let fx: Fx;
beforeEach(async () => {
  fx = await seeded.get();
});

interface TrpcError {
  message: string;
  data: { httpStatus: number; error: string; reqId: string | null; issues?: unknown };
}

/** One call's answer over HTTP: the status, the `x-request-id` and tRPC's error (if any). */
async function trpcHttp(
  path: string,
  init: { method?: string; authorization?: string | null; body?: BodyInit; headers?: Record<string, string> },
) {
  const res = await fetch(`${baseUrl()}/api/trpc/${path}`, {
    method: init.method ?? "POST",
    headers: {
      ...(init.method === "GET" ? {} : { "content-type": "application/json" }),
      ...(init.authorization ? { authorization: init.authorization } : {}),
      ...init.headers,
    },
    ...(init.body !== undefined ? { body: init.body, duplex: "half" } : {}),
  } as RequestInit);
  const body = (await res.json()) as { error?: TrpcError; result?: { data: unknown } } | unknown[];
  return { status: res.status, reqId: res.headers.get("x-request-id"), headers: res.headers, body };
}

function expectError(
  out: Awaited<ReturnType<typeof trpcHttp>>,
  want: { status: number; error: string; message?: string | RegExp },
) {
  const err = (out.body as { error?: TrpcError }).error;
  expect({ status: out.status, httpStatus: err?.data.httpStatus, error: err?.data.error }).toEqual({
    status: want.status,
    httpStatus: want.status,
    error: want.error,
  });
  if (typeof want.message === "string") expect(err?.message).toBe(want.message);
  else if (want.message) expect(err?.message).toMatch(want.message);
  expect(out.reqId).toMatch(REQ_ID);
  expect(err?.data.reqId).toBe(out.reqId);
  return err as TrpcError;
}

const BULK_DELETE = "organizations.bulkDeleteMemberships";
const getInput = (path: string, input: unknown) => `${path}?input=${encodeURIComponent(JSON.stringify(input))}`;

/** A bulk delete input of no ids, padded with white space to exactly `bytes` bytes. */
const paddedInput = (orgId: string, bytes: number) => {
  const json = JSON.stringify({ organizationId: orgId, membershipIds: [] });
  return `${json}${" ".repeat(bytes - json.length)}`;
};

/** `bytes` bytes of a JSON body in 64 KiB chunks, with no Content-Length. */
function chunkedBody(bytes: number): ReadableStream<Uint8Array> {
  const chunk = new TextEncoder().encode(" ".repeat(64 * 1024));
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent === 0) controller.enqueue(new TextEncoder().encode("["));
      if (sent >= bytes) return controller.close();
      controller.enqueue(chunk);
      sent += chunk.byteLength;
    },
  });
}

describe("the tRPC body limit (check 6, as on REST)", () => {
  it("refuses a body over 1 MiB with 413 PayloadTooLarge and changes nothing", async () => {
    const db = await testDb();
    const before = await unchangedProbe(db);
    const body = JSON.stringify({ organizationId: fx.acme.id, membershipIds: [], pad: "x".repeat(MiB) });
    const out = await trpcHttp(BULK_DELETE, { authorization: fx.bearer(ADMIN), body });
    expectError(out, { status: 413, error: "PayloadTooLarge", message: MSG.tooLarge });
    expect(await unchangedProbe(db)).toEqual(before);
  });

  it("counts the bytes as they arrive (a chunked body without Content-Length)", async () => {
    const out = await trpcHttp(BULK_DELETE, { authorization: fx.bearer(ADMIN), body: chunkedBody(2 * MiB) });
    expectError(out, { status: 413, error: "PayloadTooLarge", message: MSG.tooLarge });
  });

  it("accepts a body of exactly 1 MiB", async () => {
    const out = await trpcHttp(BULK_DELETE, {
      authorization: fx.bearer(ADMIN),
      body: paddedInput(fx.acme.id, MiB),
    });
    expect(out.status).toBe(200);
    expect((out.body as { result: { data: unknown } }).result.data).toEqual({ memberships: [] });
  });

  it("keeps the contract's order: no token is a 401 before the body is read", async () => {
    const body = JSON.stringify({ organizationId: fx.acme.id, membershipIds: [], pad: "x".repeat(2 * MiB) });
    const out = await trpcHttp(BULK_DELETE, { authorization: null, body });
    expectError(out, { status: 401, error: "UnauthorizedError", message: MSG.tokenMissing });
  });

  it.each([
    ["tRPC", "/api/trpc/organizations.bulkDeleteMemberships"],
    ["REST", "/api/v2/organizations/00000000-0000-4000-8000-000000000000/memberships"],
  ])("%s answers a request without a token at once, while its body is still coming", async (_, path) => {
    // The body's first bytes, then nothing more: a server that read the body before checks 1 to 5
    // would wait for the rest and never answer (the test would time out). After the answer the
    // server reads and drops what still comes, but at most DISCARD_LIMIT: a client that goes on
    // sending has its connection cut. A socket of its own, so that nothing but the test decides
    // what is sent and when.
    const { port, hostname } = new URL(baseUrl());
    const out = await new Promise<{ status: string; sent: number; done: boolean }>((resolve, reject) => {
      const socket = net.connect(Number(port), hostname === "localhost" ? "127.0.0.1" : hostname);
      const chunk = Buffer.alloc(256 * 1024, 0x20);
      const framed = Buffer.concat([Buffer.from(`${chunk.byteLength.toString(16)}\r\n`), chunk, Buffer.from("\r\n")]);
      let status = "";
      let sent = 0;
      let done = false;
      socket.on("connect", () => {
        const method = path.startsWith("/api/trpc") ? "POST" : "DELETE";
        socket.write(
          `${method} ${path} HTTP/1.1\r\nHost: ${hostname}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n12\r\n{"membershipIds":[\r\n`,
        );
      });
      socket.on("data", (d: Buffer) => {
        if (status) return;
        status = d.toString("latin1").split("\r\n")[0] ?? "";
        // The answer is in: go on sending, up to four times what the server drops.
        const more = () => {
          while (sent < 4 * DISCARD_LIMIT.bytes) {
            sent += chunk.byteLength;
            if (!socket.write(framed)) return void socket.once("drain", more);
          }
          done = true;
        };
        more();
      });
      socket.on("error", () => {});
      socket.on("close", () => resolve({ status, sent, done }));
      setTimeout(() => reject(new Error(`the connection was never cut (sent ${sent})`)), 20_000).unref();
    });
    expect(out.status).toBe("HTTP/1.1 401 Unauthorized");
    // Cut while the client was still sending, past what the server drops.
    expect(out.done).toBe(false);
    expect(out.sent).toBeGreaterThan(DISCARD_LIMIT.bytes);
  });

  it("applies to a batch as a whole", async () => {
    const input = JSON.stringify({ organizationId: fx.acme.id, membershipIds: [] });
    const body = `{${Array.from({ length: 10 }, (_, i) => `"${i}":${input}`).join(",")},"pad":"${"x".repeat(MiB)}"}`;
    const path = `${Array(10).fill(BULK_DELETE).join(",")}?batch=1`;
    const out = await trpcHttp(path, { authorization: fx.bearer(ADMIN), body });
    expect(out.status).toBe(413);
    const calls = out.body as { error: TrpcError }[];
    expect(calls).toHaveLength(10);
    for (const call of calls) expect(call.error.data).toMatchObject({ httpStatus: 413, error: "PayloadTooLarge" });
  });
});

describe("tRPC batches", () => {
  const batch = (n: number) => `${Array(n).fill("viewer.me").join(",")}?batch=1`;

  it("refuses more than 10 calls with 400 naming the limit, before running any", async () => {
    const out = await trpcHttp(batch(11), { method: "GET", authorization: fx.bearer(ADMIN) });
    expectError(out, {
      status: 400,
      error: "BadRequest",
      message: "A batch may hold at most 10 calls; this one has 11",
    });
  });

  it("refuses a batch of 500 calls the same way", async () => {
    const out = await trpcHttp(batch(500), { method: "GET", authorization: null });
    expectError(out, { status: 400, error: "BadRequest", message: /at most 10 calls/ });
  });

  it("serves 10 calls", async () => {
    const out = await trpcHttp(batch(10), { method: "GET", authorization: fx.bearer(ADMIN) });
    expect(out.status).toBe(200);
    expect(out.body).toHaveLength(10);
  });
});

describe("MAX_BULK_DELETE is counted before any id is checked", () => {
  const tooMany = Array.from({ length: MAX_BULK_DELETE + 1 }, (_, i) => `not-an-id-${i}`);
  const oneIssue = [
    {
      code: "too_big",
      path: ["membershipIds"],
      message: `At most ${MAX_BULK_DELETE} membership ids can be deleted in one request`,
    },
  ];

  it("REST: one issue for 1001 bad ids", async () => {
    expect(getConfig().maxBulkDelete).toBe(MAX_BULK_DELETE);
    const res = await sendRaw({
      method: "DELETE",
      path: membershipsPath(fx.acme.id),
      headers: restHeaders(fx.bearer(ADMIN), { "content-type": "application/json" }),
      body: JSON.stringify({ membershipIds: tooMany }),
    });
    expect(res.status).toBe(422);
    expect((res.body as { message: unknown }).message).toEqual(oneIssue);
  });

  it("tRPC: one issue for 1001 bad ids", async () => {
    const out = await trpcHttp(BULK_DELETE, {
      authorization: fx.bearer(ADMIN),
      body: JSON.stringify({ organizationId: fx.acme.id, membershipIds: tooMany }),
    });
    const err = expectError(out, { status: 422, error: "ValidationFailure" });
    expect(err.data.issues).toEqual(oneIssue);
  });
});

describe("malformed input on tRPC", () => {
  it.each([
    ["an unfinished object", "{"],
    ["an empty body", ""],
    ["not JSON at all", "membershipIds=1"],
  ])("a mutation with %s answers 400 BadRequest", async (_name, body) => {
    const db = await testDb();
    const before = await unchangedProbe(db);
    const out = await trpcHttp(BULK_DELETE, { authorization: fx.bearer(ADMIN), body });
    expectError(out, { status: 400, error: "BadRequest", message: MSG.badJson });
    expect(await unchangedProbe(db)).toEqual(before);
  });

  it("a query whose input is not JSON answers 400 BadRequest", async () => {
    const out = await trpcHttp("organizations.listMemberships?input=%7B", {
      method: "GET",
      authorization: fx.bearer(ADMIN),
    });
    expectError(out, { status: 400, error: "BadRequest", message: MSG.badJson });
  });

  it("a query sent with a body is served from its URL; the body is dropped and the connection carries the next request", async () => {
    const url = new URL(`${baseUrl()}/api/trpc/viewer.me`);
    const body = JSON.stringify({ pad: "x".repeat(4096) });
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const query = () =>
      new Promise<{ status: number; reused: boolean; text: string }>((resolve, reject) => {
        const req = http.request(
          url,
          {
            method: "GET",
            agent,
            headers: {
              authorization: fx.bearer(ADMIN),
              "content-type": "application/json",
              "content-length": String(body.length),
            },
          },
          (res) => {
            let text = "";
            res.setEncoding("utf8");
            res.on("data", (c: string) => {
              text += c;
            });
            res.on("end", () => resolve({ status: res.statusCode ?? 0, reused: req.reusedSocket, text }));
          },
        );
        req.on("error", reject);
        req.end(body);
      });
    try {
      const first = await query();
      expect(first.status, first.text).toBe(200);
      expect((JSON.parse(first.text) as { result: { data: unknown } }).result.data).toBeTruthy();
      const second = await query();
      expect(second.status, second.text).toBe(200);
      expect(second.reused).toBe(true);
    } finally {
      agent.destroy();
    }
  });

  it("malformed JSON without a token is still a 401 first", async () => {
    const out = await trpcHttp(BULK_DELETE, { authorization: null, body: "{" });
    expectError(out, { status: 401, error: "UnauthorizedError", message: MSG.tokenMissing });
  });

  it.each(["a=%", "a=%; b=%E0%A4%A", "next-auth.session-token=%"])(
    "a cookie that does not decode (%s) is ignored: the caller is unauthenticated",
    async (cookie) => {
      const out = await trpcHttp("viewer.me", { method: "GET", headers: { cookie } });
      expectError(out, { status: 401, error: "UnauthorizedError", message: MSG.tokenMissing });
      expect(out.headers.get("www-authenticate")).toBe("Bearer");
    },
  );

  it("a bearer caller with such a cookie is served", async () => {
    const out = await trpcHttp("viewer.me", {
      method: "GET",
      authorization: fx.bearer(ADMIN),
      headers: { cookie: "a=%" },
    });
    expect(out.status).toBe(200);
  });
});

describe("listMemberships' cursor", () => {
  const list = (cursor: unknown) =>
    trpcHttp(getInput("organizations.listMemberships", { organizationId: fx.acme.id, cursor }), {
      method: "GET",
      authorization: fx.bearer(ADMIN),
    });

  it.each([
    ["too long to name a page", "9".repeat(20)],
    ["far too long", "1".repeat(5000)],
    ["not digits", "abc"],
    ["negative", "-1"],
    ["a number, not a string", 25],
  ])("%s is a 422 ValidationFailure on cursor", async (_name, cursor) => {
    const out = await list(cursor);
    const err = expectError(out, { status: 422, error: "ValidationFailure" });
    expect((err.data.issues as { path: unknown[] }[]).map((i) => i.path)).toEqual([["cursor"]]);
  });

  it("the longest valid cursor past the end is an empty page", async () => {
    const out = await list("999999999");
    expect(out.status).toBe(200);
    expect((out.body as { result: { data: unknown } }).result.data).toMatchObject({ items: [], nextCursor: null });
  });
});
