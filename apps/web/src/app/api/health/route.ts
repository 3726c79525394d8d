import { getDb } from "@roster/db";

export const dynamic = "force-dynamic";

/** 200 when the database answers, 503 when it does not. */
export async function GET(): Promise<Response> {
  try {
    const prisma = await getDb();
    await Promise.race([
      prisma.$queryRaw`SELECT 1`,
      new Promise((_, reject) => setTimeout(() => reject(new Error("database timeout")), 3000)),
    ]);
    return Response.json({ status: "ok", database: "up" });
  } catch {
    return Response.json({ status: "unavailable", database: "down" }, { status: 503 });
  }
}
