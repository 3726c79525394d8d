// Timestamps from PostgreSQL's JSON to the contract's form without a Date: the same string as
// going through one, for what the run's database writes and for every form PostgreSQL can write.
import { describe, expect, it } from "vitest";
import { iso, isoFromJson } from "../src/services/membership-dto";
import { testDb } from "./support";

const viaDate = (s: string) => iso(new Date(s));

describe("isoFromJson", () => {
  it("writes what a Date would, for each form PostgreSQL writes a timestamp in JSON", () => {
    for (const s of [
      "2026-11-30T01:24:15+00:00",
      "2026-11-30T01:24:15.1+00:00",
      "2026-11-30T01:24:15.12+00:00",
      "2026-11-30T01:24:15.123+00:00",
      "2026-11-30T01:24:15.123456+00:00",
      "2026-11-30T01:24:15.999999+00:00",
      "2026-01-01T00:00:00+00:00",
      "2026-11-30T01:24:15.5+05:30",
      "2026-11-30T23:59:59.9-08:00",
      "1999-12-31T23:59:59.999+00:00",
    ]) {
      expect(isoFromJson(s), s).toBe(viaDate(s));
    }
    expect(isoFromJson(null)).toBeNull();
  });

  it("agrees with a Date on what the run's database writes", async () => {
    const prisma = await testDb();
    const [row] = await prisma.$queryRaw<{ j: Record<string, string> }[]>`
      SELECT json_build_object(
        'a', '2026-11-30 01:24:15+00'::timestamptz(3), 'b', '2026-11-30 01:24:15.12+00'::timestamptz(3),
        'c', '2026-11-30 01:24:15.123+00'::timestamptz(3), 'd', now()::timestamptz(3),
        'e', '2026-11-30 01:24:15.123456+00'::timestamptz) AS j`;
    for (const s of Object.values(row?.j ?? {})) expect(isoFromJson(s), s).toBe(viaDate(s));
    expect(Object.keys(row?.j ?? {})).toHaveLength(5);
  });
});
