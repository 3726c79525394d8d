// The member list behind the admin UI, in the organization of BENCH_MEMBERS members: its first
// page in the default order, and searches that the trigram indexes answer. Timed as the service
// call (the statements and the mapping), median of RUNS.
import { listMemberships } from "../src/services/list-memberships";
import { type BenchContext, median, round } from "./support";

const RUNS = 9;

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
    out.push({ database: ctx.database, operation: c.operation, matches, medianMs: round(median(times)) });
  }
  return out;
}
