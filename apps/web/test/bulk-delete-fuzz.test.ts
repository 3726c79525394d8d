// bulkDeleteOrgMemberships fed bad requests (checks 6 to 8 of the contract), generated with
// fast-check and sent over real HTTP to the running app with the admin's valid token: arbitrary
// JSON, unknown keys, wrong types, ids that are not UUIDs, huge strings, deep nesting, bytes that
// are not UTF-8, truncated JSON, wrong content types, bad organization ids in the path. Wherever
// a body could pass for a valid one it carries real membership ids, so a server that let it
// through would delete something. Every answer must be the documented error with its envelope,
// and afterwards the database must hold exactly what it held before.
import { randomUUID } from "node:crypto";
import { baseUrl, orgOf, REQ_ID, reseed, testDb, tokenOf } from "@roster/api/testing";
import type { Db } from "@roster/db";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";

const MiB = 1024 * 1024;
const BAD_JSON = "Request body must be valid JSON";
const TOO_LARGE = `Request body is larger than ${MiB} bytes`;
const JSON_TYPE = "application/json; charset=utf-8";
/** What z.guid() accepts (after trimming): any 8-4-4-4-12 hex id. */
const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const isGuid = (s: string) => GUID.test(s.trim());
const NAME_BY_STATUS: Record<number, string> = {
  400: "BadRequest",
  403: "ForbiddenError",
  413: "PayloadTooLarge",
  422: "ValidationFailure",
};

/** The contract's body, checked independently of the implementation's schema. */
function isValidBody(v: unknown): boolean {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  const keys = Object.keys(v);
  if (keys.length !== 1 || keys[0] !== "membershipIds") return false;
  const ids = (v as { membershipIds: unknown }).membershipIds;
  return Array.isArray(ids) && ids.length <= 1000 && ids.every((id) => typeof id === "string" && isGuid(id));
}

interface BadRequest {
  /** Path organization id, already encoded for the URL (default: acme's id). */
  orgSegment?: string;
  body: string | Uint8Array<ArrayBuffer>;
  /** null: send no Content-Type at all. */
  contentType?: string | null;
  expected: 400 | 403 | 413 | 422;
}

/** False for strings with lone surrogates, which have no URL encoding. */
function encodable(s: string): boolean {
  try {
    encodeURIComponent(s);
    return true;
  } catch {
    return false;
  }
}

const utf8 = (s: string): Uint8Array<ArrayBuffer> => new TextEncoder().encode(s) as Uint8Array<ArrayBuffer>;

function concatBytes(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

describe("bulk delete: fuzzed bad requests over HTTP", () => {
  let prisma: Db;
  let orgId: string;
  let token: string;
  /** Real, deletable membership ids (plain members of acme). */
  let realIds: string[];
  let before: Record<string, number>;
  let sent = 0;
  const byStatus: Record<number, number> = {};
  let started = 0;

  async function counts(): Promise<Record<string, number>> {
    const [orgMemberships, projectMemberships, projectMembershipRoles, auditEvents, users] = await Promise.all([
      prisma.orgMembership.count(),
      prisma.projectMembership.count(),
      prisma.projectMembershipRole.count(),
      prisma.auditEvent.count(),
      prisma.user.count(),
    ]);
    return { orgMemberships, projectMemberships, projectMembershipRoles, auditEvents, users };
  }

  beforeAll(async () => {
    const manifest = await reseed();
    prisma = await testDb();
    const acme = orgOf(manifest, "acme");
    orgId = acme.id;
    token = tokenOf(manifest, "acme", "admin@acme.test");
    realIds = acme.members.filter((m) => /^user\d{3}@acme\.test$/.test(m.email)).map((m) => m.membershipId);
    before = await counts();
    started = performance.now();
  });

  async function send(req: BadRequest): Promise<void> {
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    if (req.contentType !== null) headers["content-type"] = req.contentType ?? "application/json";
    const path = `/api/v2/organizations/${req.orgSegment ?? orgId}/memberships`;
    const res = await fetch(`${baseUrl()}${path}`, { method: "DELETE", headers, body: req.body, redirect: "manual" });
    const text = await res.text();
    sent++;
    byStatus[res.status] = (byStatus[res.status] ?? 0) + 1;
    const shown = typeof req.body === "string" ? req.body.slice(0, 300) : `<${req.body.length} bytes>`;
    const context = `${path} ${req.contentType ?? "(no content type)"} ${JSON.stringify(shown)} -> ${res.status} ${text.slice(0, 300)}`;
    expect(res.status, context).toBe(req.expected);
    expect(res.headers.get("content-type"), context).toBe(JSON_TYPE);
    const body = JSON.parse(text) as Record<string, unknown>;
    const keys = Object.keys(body).sort();
    const withDetails = res.status === 400 || res.status === 403;
    expect(
      keys.filter((k) => k !== "details"),
      context,
    ).toEqual(["error", "message", "reqId", "statusCode"]);
    if (!withDetails) expect(keys, context).not.toContain("details");
    expect(body.reqId, context).toMatch(REQ_ID);
    expect(res.headers.get("x-request-id"), context).toBe(body.reqId);
    expect(body.statusCode, context).toBe(res.status);
    expect(body.error, context).toBe(NAME_BY_STATUS[res.status]);
    if (res.status === 400) expect(body.message, context).toBe(BAD_JSON);
    if (res.status === 413) expect(body.message, context).toBe(TOO_LARGE);
    if (res.status === 403) expect(body.message, context).toMatch(/^Your token is scoped to organization with ID /);
    if (res.status === 422) {
      expect(Array.isArray(body.message), context).toBe(true);
      const issues = body.message as { code: unknown; path: unknown; message: unknown }[];
      expect(issues.length, context).toBeGreaterThan(0);
      for (const issue of issues) {
        expect(Object.keys(issue).sort(), context).toEqual(["code", "message", "path"]);
        expect(typeof issue.code, context).toBe("string");
        expect(typeof issue.message, context).toBe("string");
        expect(Array.isArray(issue.path), context).toBe(true);
      }
    }
  }

  const run = (arb: fc.Arbitrary<BadRequest>, numRuns: number) =>
    fc.assert(
      fc.asyncProperty(arb, (req) => send(req)),
      { numRuns, endOnFailure: true },
    );

  /** Some real ids (so a body that slipped through would delete something). */
  const someRealIds = () => fc.subarray(realIds, { minLength: 1, maxLength: 5 });

  /** Strings that are not UUIDs even after trimming, many of them near misses. */
  const notUuid = () =>
    fc
      .oneof(
        fc.string({ unit: "binary", maxLength: 60 }),
        fc.string({ maxLength: 40 }),
        fc.uuid().map((u) => u.slice(1)),
        fc.uuid().map((u) => `${u}0`),
        fc.uuid().map((u) => u.replace(/-/g, "")),
        fc.uuid().map((u) => `{${u}}`),
        fc.uuid().map((u) => `urn:uuid:${u}`),
        fc.uuid().map((u) => u.replace(/[0-9a-f]/, "g")),
        fc.uuid().map((u) => u.replace(/-/, "_")),
        fc.uuid().map((u) => `${u.slice(0, 8)} ${u.slice(8)}`),
        fc.constantFrom("", " ", "null", "undefined", "0", "00000000-0000-0000-0000-00000000000", "\u0000"),
      )
      .filter((s) => !isGuid(s));

  it("arbitrary JSON values: 422 (or 413 beyond 1 MiB), never a deletion", async () => {
    await run(
      fc
        .oneof(
          fc.jsonValue({ maxDepth: 4 }),
          fc.jsonValue({ maxDepth: 3, stringUnit: "binary" }),
          fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }),
        )
        .filter((v) => !isValidBody(v))
        .map((v): BadRequest => ({ body: JSON.stringify(v), expected: 422 })),
      160,
    );
  });

  it("unknown keys beside real ids: 422 (not stripped)", async () => {
    await run(
      fc
        .record({
          ids: someRealIds(),
          extra: fc.dictionary(
            fc.string({ minLength: 1 }).filter((k) => k !== "membershipIds"),
            fc.jsonValue({ maxDepth: 2 }),
            { minKeys: 1, maxKeys: 3 },
          ),
          first: fc.boolean(),
        })
        .map(({ ids, extra, first }): BadRequest => {
          const body = first ? { ...extra, membershipIds: ids } : { membershipIds: ids, ...extra };
          return { body: JSON.stringify(body), expected: 422 };
        }),
      60,
    );
    // keys that look like the documented one
    for (const key of ["membershipids", "MembershipIds", "membershipIds ", " membershipIds", "membership_ids", "ids"]) {
      await send({ body: JSON.stringify({ [key]: realIds.slice(0, 2) }), expected: 422 });
    }
    await send({ body: `{"membershipIds":${JSON.stringify(realIds.slice(0, 2))},"__proto__":{"x":1}}`, expected: 422 });
    await send({ body: JSON.stringify({ membershipIds: realIds.slice(0, 2), organizationId: orgId }), expected: 422 });
  });

  it("membershipIds of the wrong type: 422", async () => {
    const wrongScalar = fc.oneof(
      fc.integer(),
      fc.double({ noNaN: true, noDefaultInfinity: true }),
      fc.boolean(),
      fc.constant(null),
      fc.string(),
      fc.constantFrom(...realIds.slice(0, 3)), // one id, not an array of ids
      fc.dictionary(fc.string(), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 3 }),
    );
    const wrongElement = fc.oneof(
      fc.integer(),
      fc.boolean(),
      fc.constant(null),
      fc.array(fc.constantFrom(...realIds.slice(0, 3)), { minLength: 1, maxLength: 2 }), // nested arrays of real ids
      fc.constantFrom(...realIds.slice(0, 3)).map((id) => ({ id })),
      fc.jsonValue({ maxDepth: 2 }).filter((v) => typeof v !== "string"),
    );
    await run(
      fc
        .oneof(
          wrongScalar.map((v) => ({ membershipIds: v })),
          fc
            .tuple(someRealIds(), fc.array(wrongElement, { minLength: 1, maxLength: 3 }), fc.nat())
            .map(([ids, bad, at]) => {
              const list: unknown[] = [...ids];
              for (const b of bad) list.splice(at % (list.length + 1), 0, b);
              return { membershipIds: list };
            }),
        )
        .map((v): BadRequest => ({ body: JSON.stringify(v), expected: 422 })),
      90,
    );
  });

  it("ids that are not UUIDs among real ones: 422", async () => {
    await run(
      fc
        .tuple(someRealIds(), fc.array(notUuid(), { minLength: 1, maxLength: 3 }), fc.nat())
        .map(([ids, bad, at]): BadRequest => {
          const list = [...ids];
          for (const b of bad) list.splice(at % (list.length + 1), 0, b);
          return { body: JSON.stringify({ membershipIds: list }), expected: 422 };
        }),
      100,
    );
    // more than MAX_BULK_DELETE ids, real ones first
    const many = [...realIds, ...Array.from({ length: 1001 - realIds.length }, () => randomUUID())];
    await send({ body: JSON.stringify({ membershipIds: many }), expected: 422 });
  });

  it("huge strings and deep nesting: 422 below 1 MiB, 413 above", async () => {
    const ids = realIds.slice(0, 2);
    await run(
      fc
        .record({
          size: fc.integer({ min: 64 * 1024, max: MiB - 4096 }),
          char: fc.constantFrom("a", "0", "-", "é", "\u{1F600}", " "),
          where: fc.constantFrom("element", "key", "value"),
        })
        .map(({ size, char, where }): BadRequest => {
          const big = char.repeat(Math.floor(size / Buffer.byteLength(char)));
          const body =
            where === "element"
              ? { membershipIds: [...ids, big] }
              : where === "key"
                ? { membershipIds: ids, [big]: 1 }
                : { membershipIds: ids, note: big };
          return { body: JSON.stringify(body), expected: Buffer.byteLength(JSON.stringify(body)) > MiB ? 413 : 422 };
        }),
      12,
    );
    // right at the limit: exactly 1 MiB is read (and refused by the schema), one byte more is 413
    const prefix = `{"membershipIds":${JSON.stringify(ids)},"pad":"`;
    const exact = `${prefix}${"x".repeat(MiB - prefix.length - 2)}"}`;
    expect(Buffer.byteLength(exact)).toBe(MiB);
    await send({ body: exact, expected: 422 });
    const over = `${prefix}${"x".repeat(MiB - prefix.length - 1)}"}`;
    await send({ body: over, expected: 413 });
    await send({ body: `{"membershipIds":${JSON.stringify(ids)}}${" ".repeat(MiB)}`, expected: 413 });
    await send({ body: "[".repeat(2 * MiB), expected: 413 });
    await send({ body: JSON.stringify({ membershipIds: ids, pad: "y".repeat(3 * MiB) }), expected: 413 });
    // deep nesting, still under the limit
    for (const depth of [100, 10_000, 150_000]) {
      await send({ body: `{"membershipIds":${"[".repeat(depth)}${"]".repeat(depth)}}`, expected: 422 });
      await send({ body: `${"[".repeat(depth)}${"]".repeat(depth)}`, expected: 422 });
      await send({ body: `${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`, expected: 422 });
    }
  });

  it("bytes that are not UTF-8: 400", async () => {
    const invalidSequences = [
      [0xff],
      [0xfe],
      [0xc0, 0x80], // overlong NUL
      [0xc1, 0xbf],
      [0xe0, 0x80, 0x80],
      [0xed, 0xa0, 0x80], // an encoded surrogate
      [0xf4, 0x90, 0x80, 0x80], // beyond U+10FFFF
      [0xf8, 0x88, 0x80, 0x80, 0x80],
      [0x80], // a lone continuation byte
      [0xe2, 0x82], // truncated sequence
    ];
    await run(
      fc
        .record({
          ids: someRealIds(),
          bad: fc.constantFrom(...invalidSequences),
          where: fc.constantFrom("in-string", "extra-element", "before", "after"),
        })
        .map(({ ids, bad, where }): BadRequest => {
          const b = new Uint8Array(bad);
          const list = JSON.stringify(ids);
          const parts =
            where === "in-string"
              ? [utf8(`{"membershipIds":${list.slice(0, -1)},"`), b, utf8(`"]}`)]
              : where === "extra-element"
                ? [utf8(`{"membershipIds":${list},"note":"`), b, utf8(`"}`)]
                : where === "before"
                  ? [b, utf8(`{"membershipIds":${list}}`)]
                  : [utf8(`{"membershipIds":${list}}`), b];
          return { body: concatBytes(...parts), expected: 400 };
        }),
      50,
    );
    // random bytes that do not decode
    await run(
      fc
        .uint8Array({ minLength: 1, maxLength: 200 })
        .filter((bytes) => {
          try {
            new TextDecoder("utf-8", { fatal: true }).decode(bytes);
            return false;
          } catch {
            return true;
          }
        })
        .map((bytes): BadRequest => ({ body: bytes, expected: 400 })),
      30,
    );
  });

  it("truncated or malformed JSON: 400", async () => {
    await run(
      fc.tuple(someRealIds(), fc.nat()).map(([ids, cut]): BadRequest => {
        const full = JSON.stringify({ membershipIds: ids });
        return { body: full.slice(0, cut % full.length), expected: 400 };
      }),
      50,
    );
    const id = realIds[0] as string;
    for (const body of [
      "",
      " ",
      "\n\t",
      `{membershipIds:["${id}"]}`,
      `{'membershipIds':['${id}']}`,
      `{"membershipIds":["${id}",]}`,
      `{"membershipIds":["${id}"]}}`,
      `{"membershipIds":["${id}"]} x`,
      `{"membershipIds":["${id}"] /* c */}`,
      `membershipIds=${id}`,
      `{"membershipIds":[NaN]}`,
      `{"membershipIds":["${id}\u0001"]}`, // a raw control character inside a string
      "undefined",
      "\uFEFF",
    ]) {
      await send({ body, expected: 400 });
    }
  });

  it("a valid body of real ids under another content type: 400", async () => {
    await run(
      fc
        .record({
          ids: someRealIds(),
          type: fc.oneof(
            fc.constantFrom(
              null,
              "",
              "text/plain",
              "text/plain;charset=UTF-8",
              "application/x-www-form-urlencoded",
              "multipart/form-data; boundary=x",
              "application/json-patch+json",
              "application/merge-patch+json",
              "application/jsonx",
              "application/ld+json",
              "text/json",
              "json",
              "application/javascript",
              "application/octet-stream",
              "*/*",
              "application/json, text/plain",
              "application /json",
            ),
            fc.string({ maxLength: 30 }).filter((t) => {
              const base = t.split(";")[0]?.trim().toLowerCase();
              // a header value fetch can send, and not JSON's media type
              return base !== "application/json" && /^[\x20-\x7e]*$/.test(t);
            }),
          ),
        })
        .map(
          ({ ids, type }): BadRequest => ({
            body: utf8(JSON.stringify({ membershipIds: ids })),
            contentType: type,
            expected: 400,
          }),
        ),
      40,
    );
  });

  it("bad organization ids in the path: 422, or 403 for a UUID that is not the token's organization", async () => {
    await run(
      fc
        .record({
          ids: someRealIds(),
          segment: fc
            .oneof(notUuid(), fc.string({ unit: "grapheme", minLength: 1, maxLength: 40 }))
            .filter((s) => s.trim() !== "" && !isGuid(s) && s !== "." && s !== ".." && encodable(s)),
        })
        .map(
          ({ ids, segment }): BadRequest => ({
            orgSegment: encodeURIComponent(segment),
            body: JSON.stringify({ membershipIds: ids }),
            expected: 422,
          }),
        ),
      40,
    );
    await run(
      fc.record({ ids: someRealIds(), other: fc.uuid() }).map(
        ({ ids, other }): BadRequest => ({
          orgSegment: other,
          body: JSON.stringify({ membershipIds: ids }),
          expected: 403,
        }),
      ),
      10,
    );
  });

  it("after all of them, nothing changed", async () => {
    const seconds = (performance.now() - started) / 1000;
    console.log(
      `[bulk-delete fuzz] ${sent} bad requests in ${seconds.toFixed(1)} s; answers: ${JSON.stringify(byStatus)}`,
    );
    expect(sent).toBeGreaterThanOrEqual(500);
    expect(byStatus[500] ?? 0).toBe(0);
    expect(byStatus[200] ?? 0).toBe(0);
    expect(await counts()).toEqual(before);
    expect(await prisma.orgMembership.count({ where: { id: { in: realIds } } })).toBe(realIds.length);
  });
});
