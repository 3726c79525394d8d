// Request ids: `req-` and 14 letters or digits, each character drawn evenly from the 62, and no
// two alike over many ids (they are drawn from a pool of random bytes refilled as it runs out).
import { REQ_ID } from "@roster/api/testing";
import { describe, expect, it } from "vitest";
import { newRequestId } from "../src/request-id";

describe("newRequestId", () => {
  it("has the contract's form, never repeats, and uses every character about equally", () => {
    const ids = Array.from({ length: 20_000 }, () => newRequestId());
    for (const id of ids) expect(id).toMatch(REQ_ID);
    expect(new Set(ids).size).toBe(ids.length);
    const counts = new Map<string, number>();
    for (const id of ids) for (const c of id.slice(4)) counts.set(c, (counts.get(c) ?? 0) + 1);
    expect(counts.size).toBe(62);
    // 280,000 characters over 62: about 4,516 each; a fair draw stays well within 15% of that.
    const expected = (ids.length * 14) / 62;
    for (const [c, n] of counts) expect(Math.abs(n - expected) / expected, c).toBeLessThan(0.15);
  });
});
