// The bench's verdicts (bench/goals.ts): each goal met or not from the rows a run measured.
import { describe, expect, it } from "vitest";
import { type BenchResults, verdicts } from "../bench/goals";

const empty: BenchResults = { removals: [], restore: [], throughput: [], list: [], listStream: [], soak: [] };

const removal = (database: string, ids: number, restRatio: number, trpcRatio: number) => ({
  database,
  ids,
  runs: 9,
  rawMs: 10,
  restMs: 10 * restRatio,
  restRatio,
  trpcMs: 10 * trpcRatio,
  trpcRatio,
});

const metOf = (results: Partial<BenchResults>) =>
  verdicts({ ...empty, ...results }).map((v) => [v.database, v.goal, v.met]);

describe("bench verdicts", () => {
  it("hold 1000 ids to 1.3x and 1 id to 2x the raw SQL, through REST and tRPC, on each database", () => {
    expect(
      metOf({
        removals: [
          removal("postgresql", 1, 2, 2.01),
          removal("postgresql", 100, 9, 9),
          removal("postgresql", 1000, 1.3, 1.31),
          removal("embedded", 1000, 1.1, 1.2),
        ],
      }),
    ).toEqual([
      ["postgresql", "1 id through REST at most 2x the raw SQL", "yes"],
      ["postgresql", "1 id through tRPC at most 2x the raw SQL", "no"],
      // 100 ids have no goal.
      ["postgresql", "1000 ids through REST at most 1.3x the raw SQL", "yes"],
      ["postgresql", "1000 ids through tRPC at most 1.3x the raw SQL", "no"],
      ["embedded", "1000 ids through REST at most 1.3x the raw SQL", "yes"],
      ["embedded", "1000 ids through tRPC at most 1.3x the raw SQL", "yes"],
    ]);
  });

  it("ask removals for half of health's rate", () => {
    const row = (operation: string, perSecond: number, ofHealth: string) => ({
      database: "embedded",
      operation,
      connections: 16,
      requests: perSecond * 2,
      perSecond,
      p50Ms: 1,
      p95Ms: 2,
      ofHealth,
    });
    const at = (perSecond: number, share: string) =>
      metOf({ throughput: [row("GET /api/health", 900, "100%"), row("DELETE 1 id (REST)", perSecond, share)] });
    expect(at(450, "50%")).toEqual([
      ["embedded", "1-id removals at 16 connections at least 50% of /api/health", "yes"],
    ]);
    expect(at(441, "49%")[0]?.[2]).toBe("no");
    // Judged on the rates themselves, not on the rounded share printed beside them.
    expect(at(449, "50%")[0]?.[2]).toBe("no");
  });

  it("judge search and the first page by their slowest case, and the listing per 100,000 members", () => {
    const list = (operation: string, medianMs: number) => ({ database: "postgresql", operation, matches: 1, medianMs });
    const stream = (members: number, medianS: number, encoding = "identity") => ({
      database: "postgresql",
      members,
      encoding,
      medianS,
      megabytes: 1,
      rssBeforeMb: 1,
      rssAfterFirstMb: 1,
      rssPeakMb: 1,
      rssAfterLastMb: 1,
    });
    expect(
      metOf({
        list: [list("first page of 50, by email", 19.9), list("first page of 50, by name", 20), list('search "x"', 49)],
        listStream: [stream(100_000, 1.9), stream(100_000, 2.1, "gzip")],
      }),
    ).toEqual([
      ["postgresql", "search under 50 ms", "yes"],
      ["postgresql", "first page of the list under 20 ms", "no"],
      ["postgresql", "the whole REST listing of 100000 members under 2 s", "no"],
    ]);
    expect(metOf({ listStream: [stream(50_000, 1.5)] })).toEqual([
      ["postgresql", "the whole REST listing of 50000 members under 1 s", "no"],
    ]);
  });

  it("want a restore to cost about its removal, and the soak's last quarter flat", () => {
    const restore = (restoreOverRemove: number) => ({
      database: "embedded",
      via: "REST",
      ids: 1000,
      rounds: 5,
      removeMs: 100,
      restoreMs: 100 * restoreOverRemove,
      restoreOverRemove,
    });
    const soak = (rssQuartersMb: string) => ({
      database: "embedded",
      requests: 10_000,
      perSecond: 500,
      rssBeforeMb: 280,
      rssQuartersMb,
      rssAfterMb: 0,
      heapUsedMb: "",
    });
    expect(metOf({ restore: [restore(1.2)], soak: [soak("396 / 405 / 443 / 443")] })).toEqual([
      ["embedded", "restoring 1000 about what removing them costs (at most 1.25x), REST", "yes"],
      ["embedded", "server memory flat over 10000 removals (RSS over the last quarter within 2%)", "yes"],
    ]);
    expect(metOf({ restore: [restore(2.2)], soak: [soak("396 / 405 / 443 / 460")] }).map((v) => v[2])).toEqual([
      "no",
      "no",
    ]);
    // A soak shorter than the goal's is printed, not judged, grown or not.
    const short = verdicts({ ...empty, soak: [{ ...soak("298 / 317 / 335 / 351"), requests: 1500 }] });
    expect(short).toMatchObject([
      { met: "not judged", measured: "335 → 351 MB (+4.8%) over 1500 (BENCH_SOAK=10000 to judge)" },
    ]);
  });
});
