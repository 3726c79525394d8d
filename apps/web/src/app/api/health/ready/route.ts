import { getDb } from "@roster/db";

export const dynamic = "force-dynamic";

/** Set by server.mjs once SIGTERM arrives: the instance finishes its requests but takes no new work. */
const DRAINING = Symbol.for("roster.draining");

/**
 * Readiness, for a load balancer's health check: 503 while the instance drains or when the
 * database does not answer, 200 otherwise. `/api/health` stays the liveness check.
 */
export async function GET(): Promise<Response> {
  if ((globalThis as { [DRAINING]?: boolean })[DRAINING]) {
    return Response.json({ status: "draining" }, { status: 503, headers: { "cache-control": "no-store" } });
  }
  try {
    const prisma = await getDb();
    await Promise.race([
      prisma.$queryRaw`SELECT 1`,
      new Promise((_, reject) => setTimeout(() => reject(new Error("database timeout")), 3000)),
    ]);
    return Response.json({ status: "ready", database: "up" }, { headers: { "cache-control": "no-store" } });
  } catch {
    return Response.json(
      { status: "unavailable", database: "down" },
      { status: 503, headers: { "cache-control": "no-store" } },
    );
  }
}
