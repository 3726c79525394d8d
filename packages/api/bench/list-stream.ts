// The whole REST listing of the bench organization (100,000 members) over HTTP, streamed: the
// time to the last byte as curl asks for it (no compression) and as a browser or Node's fetch
// asks for it (gzip), the body size, and the web server's resident memory before, at its peak,
// and after each of several listings in a row. A streamed read holds a page or two at a time,
// so the memory reached by the first listing is not exceeded by the ones after it (a read that
// held the body would add about its size each time it ran concurrently or grew).
import { type BenchContext, median, round, rssMb } from "./support";

export interface ListStreamRow {
  database: string;
  members: number;
  encoding: string;
  medianS: number;
  megabytes: number;
  rssBeforeMb: number;
  rssAfterFirstMb: number;
  rssPeakMb: number;
  rssAfterLastMb: number;
}

/**
 * Listings in a row per encoding: gzip (what browsers and Node's fetch ask for) twice, so the
 * memory after the second shows whether the first left anything behind; identity once.
 */
const RUNS: Record<string, number> = { identity: 1, gzip: 2 };

async function listOnce(
  ctx: BenchContext,
  encoding: string,
): Promise<{ seconds: number; bytes: number; listed: number }> {
  const started = performance.now();
  const res = await fetch(`${ctx.baseUrl}/api/v2/organizations/${ctx.orgId}/memberships`, {
    headers: { authorization: `Bearer ${ctx.admin.token}`, "accept-encoding": encoding },
  });
  if (res.status !== 200) throw new Error(`the listing answered ${res.status}: ${await res.text()}`);
  if ((res.headers.get("content-encoding") ?? "identity") !== encoding) {
    throw new Error(`asked for ${encoding}, got ${res.headers.get("content-encoding")}`);
  }
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    chunks.push(chunk);
    bytes += chunk.byteLength;
  }
  const seconds = (performance.now() - started) / 1000;
  const listed = (JSON.parse(Buffer.concat(chunks).toString("utf8")) as { users: unknown[] }).users.length;
  const [count] = (
    await ctx.sql.query<{ n: number }>("SELECT count(*)::int AS n FROM org_memberships WHERE org_id = $1", [ctx.orgId])
  ).rows;
  if (listed !== count?.n) throw new Error(`listed ${listed} memberships, the database holds ${count?.n}`);
  return { seconds, bytes, listed };
}

export async function benchListStream(ctx: BenchContext): Promise<ListStreamRow[]> {
  const rows: ListStreamRow[] = [];
  for (const encoding of ["identity", "gzip"]) {
    const before = rssMb(ctx.serverPid);
    let peak = before;
    const sampler = setInterval(() => {
      peak = Math.max(peak, rssMb(ctx.serverPid));
    }, 20);
    try {
      const seconds: number[] = [];
      let last = { bytes: 0, listed: 0 };
      let afterFirst = 0;
      for (let i = 0; i < (RUNS[encoding] ?? 1); i++) {
        const run = await listOnce(ctx, encoding);
        seconds.push(run.seconds);
        last = run;
        if (i === 0) afterFirst = rssMb(ctx.serverPid);
      }
      rows.push({
        database: ctx.database,
        members: last.listed,
        encoding,
        medianS: round(median(seconds), 2),
        megabytes: round(last.bytes / 1e6),
        rssBeforeMb: before,
        rssAfterFirstMb: afterFirst,
        rssPeakMb: peak,
        rssAfterLastMb: rssMb(ctx.serverPid),
      });
    } finally {
      clearInterval(sampler);
    }
  }
  return rows;
}
