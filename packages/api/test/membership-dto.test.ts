// Timestamps from PostgreSQL's text and JSON forms to the contract's form without a Date: the same
// string as going through one, for what the run's database writes and for every form PostgreSQL
// can write.
import { Prisma, queryRows } from "@roster/db";
import { describe, expect, it } from "vitest";
import { iso, isoFromPg } from "../src/services/membership-dto";
import { testDb } from "./support";

const viaDate = (s: string) => iso(new Date(s));

/** The same instants in the forms PostgreSQL writes: text (timestamptz's output) and JSON. */
const UTC_FORMS = [
  ["2026-11-30 01:24:15+00", "2026-11-30T01:24:15+00:00"],
  ["2026-11-30 01:24:15.1+00", "2026-11-30T01:24:15.1+00:00"],
  ["2026-11-30 01:24:15.12+00", "2026-11-30T01:24:15.12+00:00"],
  ["2026-11-30 01:24:15.123+00", "2026-11-30T01:24:15.123+00:00"],
  ["2026-11-30 01:24:15.123456+00", "2026-11-30T01:24:15.123456+00:00"],
  ["2026-11-30 01:24:15.999999+00", "2026-11-30T01:24:15.999999+00:00"],
  ["2026-01-01 00:00:00+00", "2026-01-01T00:00:00+00:00"],
  ["1999-12-31 23:59:59.999+00", "1999-12-31T23:59:59.999+00:00"],
];

describe("isoFromPg", () => {
  it("writes what a Date would, for each form PostgreSQL writes a timestamp in, as text and in JSON", () => {
    for (const [text, json] of UTC_FORMS as [string, string][]) {
      expect(isoFromPg(json), json).toBe(viaDate(json));
      expect(isoFromPg(text), text).toBe(viaDate(json));
    }
    // Another time zone's offset goes through a Date.
    for (const s of ["2026-11-30T01:24:15.5+05:30", "2026-11-30T23:59:59.9-08:00", "2026-11-30 01:24:15.5+05:30"]) {
      expect(isoFromPg(s), s).toBe(viaDate(s.replace(" ", "T")));
    }
    expect(isoFromPg(new Date("2026-11-30T01:24:15.12Z"))).toBe("2026-11-30T01:24:15.120Z");
    expect(isoFromPg(null)).toBeNull();
  });

  it("agrees with a Date on what the run's database writes, in JSON and as text", async () => {
    const prisma = await testDb();
    const values = Prisma.sql`'2026-11-30 01:24:15+00'::timestamptz(3) AS a, '2026-11-30 01:24:15.12+00'::timestamptz(3) AS b,
      '2026-11-30 01:24:15.123+00'::timestamptz(3) AS c, '2026-02-03 04:05:06.07+00'::timestamptz(3) AS d,
      '2026-11-30 01:24:15.123456+00'::timestamptz AS e`;
    const [json] = await prisma.$queryRaw<
      { j: Record<string, string> }[]
    >`SELECT to_json(x) AS j FROM (SELECT ${values}) x`;
    const [text] = await queryRows<Record<string, string | Date>>(prisma, Prisma.sql`SELECT ${values}`, {
      timestampsAsText: true,
    });
    const [dates] = await queryRows<Record<string, Date>>(prisma, Prisma.sql`SELECT ${values}`);
    expect(Object.keys(json?.j ?? {})).toHaveLength(5);
    for (const key of ["a", "b", "c", "d", "e"]) {
      const s = json?.j[key] as string;
      expect(isoFromPg(s), s).toBe(viaDate(s));
      expect(isoFromPg(text?.[key] ?? null), String(text?.[key])).toBe(viaDate(s));
      expect(iso(dates?.[key] ?? null)).toBe(viaDate(s));
    }
    // The run's database is reached through a pool (either kind): the text is PostgreSQL's own, not a Date.
    expect(text?.a).toBe("2026-11-30 01:24:15+00");
    expect(dates?.a).toBeInstanceOf(Date);
  });
});
