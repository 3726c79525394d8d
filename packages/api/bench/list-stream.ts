// The whole REST listing of the bench organization (100,000 members) over HTTP, streamed: the
// time to the last byte, the body size, and the web server's resident memory before, at its
// peak during, and after the transfer. A streamed read holds one page at a time, so the peak
// stays far below the body size.
import { type BenchContext, round, rssMb } from "./support";

export interface ListStreamRow {
  database: string;
  members: number;
  seconds: number;
  megabytes: number;
  rssBeforeMb: number;
  rssPeakMb: number;
  rssAfterMb: number;
}

export async function benchListStream(ctx: BenchContext): Promise<ListStreamRow> {
  const before = rssMb(ctx.serverPid);
  let peak = before;
  const sampler = setInterval(() => {
    peak = Math.max(peak, rssMb(ctx.serverPid));
  }, 20);
  try {
    const started = performance.now();
    const res = await fetch(`${ctx.baseUrl}/api/v2/organizations/${ctx.orgId}/memberships`, {
      headers: { authorization: `Bearer ${ctx.admin.token}` },
    });
    if (res.status !== 200) throw new Error(`the listing answered ${res.status}: ${await res.text()}`);
    const chunks: Uint8Array[] = [];
    let bytes = 0;
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      chunks.push(chunk);
      bytes += chunk.byteLength;
    }
    const seconds = (performance.now() - started) / 1000;
    const listed = (JSON.parse(Buffer.concat(chunks).toString("utf8")) as { users: unknown[] }).users.length;
    const [count] = (
      await ctx.sql.query<{ n: number }>("SELECT count(*)::int AS n FROM org_memberships WHERE org_id = $1", [
        ctx.orgId,
      ])
    ).rows;
    if (listed !== count?.n) throw new Error(`listed ${listed} memberships, the database holds ${count?.n}`);
    return {
      database: ctx.database,
      members: listed,
      seconds: round(seconds, 2),
      megabytes: round(bytes / 1e6),
      rssBeforeMb: before,
      rssPeakMb: peak,
      rssAfterMb: rssMb(ctx.serverPid),
    };
  } finally {
    clearInterval(sampler);
  }
}
