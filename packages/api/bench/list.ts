// The member list behind the admin UI, in the organization of BENCH_MEMBERS members: its first
// page in the default order, and searches that the trigram indexes answer. Timed as the service
// call (the statements and the mapping), median of RUNS.
import { Prisma } from "@roster/db";
import { listMemberships, listStatements } from "../src/services/list-memberships";
import { type BenchContext, median, round } from "./support";

const RUNS = 9;

/** The goals (ms): a slower case gets its statements' plans printed, as they ran. */
const GOAL_MS = { search: 50, page: 20 };

export interface ListRow {
  database: string;
  operation: string;
  matches: number;
  medianMs: number;
}

export async function benchList(ctx: BenchContext): Promise<ListRow[]> {
  const cases: { operation: string; search?: string; sortBy?: "email" | "name" }[] = [
    { operation: "first page of 50, by email" },
    { operation: "first page of 50, by name", sortBy: "name" },
    { operation: 'search "surname4242"', search: "surname4242" },
    { operation: 'search "Alan Surname4242"', search: "Alan Surname4242" },
    { operation: 'search "admin@acme"', search: "admin@acme" },
  ];
  const out: ListRow[] = [];
  for (const c of cases) {
    const times: number[] = [];
    let matches = 0;
    for (let i = 0; i < RUNS; i++) {
      const t = performance.now();
      const page = await listMemberships(ctx.prisma, ctx.orgId, {
        limit: 50,
        sortBy: c.sortBy ?? "email",
        sortDir: "asc",
        search: c.search,
      });
      times.push(performance.now() - t);
      matches = page.total;
    }
    const args = { limit: 50, sortBy: c.sortBy ?? "email", sortDir: "asc", search: c.search } as const;
    const medianMs = median(times);
    if (medianMs > (c.search ? GOAL_MS.search : GOAL_MS.page))
      await explain(ctx, c.operation, listStatements(ctx.orgId, args));
    out.push({ database: ctx.database, operation: c.operation, matches, medianMs: round(medianMs) });
  }
  return out;
}

/** Prints how the database ran each statement of a slow case (the same client, the same parameters). */
async function explain(ctx: BenchContext, operation: string, statements: { page: Prisma.Sql; count: Prisma.Sql }) {
  for (const [name, statement] of Object.entries({ page: statements.page, count: statements.count })) {
    const rows = await ctx.prisma.$queryRaw<{ "QUERY PLAN": string }[]>(
      Prisma.sql`EXPLAIN (ANALYZE, BUFFERS) ${statement}`,
    );
    console.error(
      `[bench] ${ctx.database}, ${operation} over its goal: the ${name} statement's plan\n${rows.map((r) => `  ${r["QUERY PLAN"]}`).join("\n")}`,
    );
  }
}
