// bulkDeleteOrgMemberships fed bad requests (checks 6 to 8 of the contract), generated with
// fast-check and sent over real HTTP to the running app with the admin's valid token: arbitrary
// JSON, unknown keys, wrong types, ids that are not UUIDs, huge strings, deep nesting, bytes that
// are not UTF-8, truncated JSON, wrong content types, bad organization ids in the path. Wherever
// a body could pass for a valid one it carries real membership ids, so a server that let it
// through would delete something. Every answer must be the documented error with its envelope,
// and afterwards the database must hold exactly what it held before.
import { randomUUID } from "node:crypto";
import { MiB, orgOf, reseed, testDb, tokenOf } from "@roster/api/testing";
import type { Db } from "@roster/db";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import {
  type BadRequest,
  BadRequestSender,
  concatBytes,
  encodable,
  isGuid,
  isValidBody,
  notUuid,
  utf8,
} from "./support/bad-requests";
import { rowCounts } from "./support/snapshots";

describe("bulk delete: fuzzed bad requests over HTTP", () => {
  let prisma: Db;
  let orgId: string;
  let token: string;
  /** Real, deletable membership ids (plain members of acme). */
  let realIds: string[];
  let before: Awaited<ReturnType<typeof rowCounts>>;
  let started = 0;
  const sender = new BadRequestSender(() => ({ orgId, token }));
  const send = (req: BadRequest) => sender.send(req);

  beforeAll(async () => {
    const manifest = await reseed();
    prisma = await testDb();
    const acme = orgOf(manifest, "acme");
    orgId = acme.id;
    token = tokenOf(manifest, "acme", "admin@acme.test");
    realIds = acme.members.filter((m) => /^user\d{3}@acme\.test$/.test(m.email)).map((m) => m.membershipId);
    before = await rowCounts(prisma);
    started = performance.now();
  });

  const run = (arb: fc.Arbitrary<BadRequest>, numRuns: number) =>
    fc.assert(
      fc.asyncProperty(arb, (req) => send(req)),
      { numRuns, endOnFailure: true },
    );

  /** Some real ids (so a body that slipped through would delete something). */
  const someRealIds = () => fc.subarray(realIds, { minLength: 1, maxLength: 5 });

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
      `[bulk-delete fuzz] ${sender.sent} bad requests in ${seconds.toFixed(1)} s; answers: ${JSON.stringify(sender.byStatus)}`,
    );
    expect(sender.sent).toBeGreaterThanOrEqual(500);
    expect(sender.byStatus[500] ?? 0).toBe(0);
    expect(sender.byStatus[200] ?? 0).toBe(0);
    expect(await rowCounts(prisma)).toEqual(before);
    expect(await prisma.orgMembership.count({ where: { id: { in: realIds } } })).toBe(realIds.length);
  });
});
