// What one process shares when its code is loaded more than once: Next builds the app's own code
// once for its API routes and once for its pages, so a module can run as two copies side by side.
// A second copy (after vi.resetModules) stands in for the other bundle. (The throttles' case is in
// throttles.test.ts.)
import { Prisma, queryRows } from "@roster/db";
import { describe, expect, it, vi } from "vitest";
import { testDb } from "./support";

describe("two bundles of the code in one process", () => {
  it("send raw statements on the pool of a client the other bundle opened, past Prisma's engine", async () => {
    const prisma = await testDb();
    vi.resetModules();
    const other = await import("@roster/db");
    expect(other.queryRows).not.toBe(queryRows);
    const [row] = await other.queryRows<{ t: unknown }>(
      prisma,
      Prisma.sql`SELECT '2026-11-30 01:24:15+00'::timestamptz AS t`,
      { timestampsAsText: true },
    );
    // PostgreSQL's own text, as only the pool path reads it (Prisma's engine would answer a Date).
    expect(row?.t).toBe("2026-11-30 01:24:15+00");
  });
});
