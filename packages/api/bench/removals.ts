// A removal through REST and through tRPC over HTTP, against the limit for this work: the same
// SQL statements sent straight through `pg` on one connection (the one read of checks 3 and 5,
// then the removal's one statement, both built by the server's own statement functions). The three are
// run in turn, in a rotating order, each on fresh members, so they share the machine's load.
import { preparedName } from "@roster/db";
import { sessionMemberStatement, verifyBearer } from "../src/auth/caller";
import { fastGuard, oneStatementRemoval } from "../src/services/bulk-delete-memberships";
import { taker } from "./load";
import { addMembers, type BenchContext, median, round, send, settle } from "./support";

export interface RemovalRow {
  database: string;
  ids: number;
  runs: number;
  rawMs: number;
  restMs: number;
  restRatio: number;
  trpcMs: number;
  trpcRatio: number;
}

type Way = "raw" | "rest" | "trpc";

/**
 * 1-id requests per way before anything is measured: V8 optimises the server's hot code over
 * some hundreds of requests, not dozens (bench/cpu.ts). Sent WARM_UP_CONNECTIONS at a time, all
 * ways at once: what V8 counts is calls, not time.
 */
const WARM_UP = 320;
const WARM_UP_CONNECTIONS = 8;

const json = { "content-type": "application/json" };

export async function viaRest(ctx: BenchContext, ids: string[]): Promise<void> {
  const res = await send(`${ctx.baseUrl}/api/v2/organizations/${ctx.orgId}/memberships`, {
    method: "DELETE",
    headers: { authorization: `Bearer ${ctx.admin.token}`, ...json },
    body: JSON.stringify({ membershipIds: ids }),
  });
  const body = JSON.parse(res.text) as { memberships?: unknown[] };
  if (res.status !== 200 || body.memberships?.length !== ids.length) {
    throw new Error(`REST removal answered ${res.status}: ${res.text.slice(0, 300)}`);
  }
}

export async function viaTrpc(ctx: BenchContext, ids: string[]): Promise<void> {
  const res = await send(`${ctx.baseUrl}/api/trpc/organizations.bulkDeleteMemberships`, {
    method: "POST",
    headers: { authorization: `Bearer ${ctx.admin.token}`, ...json },
    body: JSON.stringify({ organizationId: ctx.orgId, membershipIds: ids }),
  });
  const body = JSON.parse(res.text) as { result?: { data?: { memberships?: unknown[] } } };
  if (res.status !== 200 || body.result?.data?.memberships?.length !== ids.length) {
    throw new Error(`tRPC removal answered ${res.status}: ${res.text.slice(0, 300)}`);
  }
}

/**
 * The limit: what the database must be asked for one removal, sent raw. The session and the
 * caller's membership (checks 3 and 5, as the server reads them on every request), then the
 * removal's one statement (locking read, verdict and writes), as the server sends it for plain
 * members.
 */
export function rawRemoval(ctx: BenchContext) {
  const claims = JSON.parse(Buffer.from(ctx.admin.token.split(".")[1] ?? "", "base64url").toString()) as {
    tokenVersionId: string;
    userId: string;
  };
  const callerPromise = verifyBearer(ctx.prisma, `Bearer ${ctx.admin.token}`, ctx.secret);
  let n = 0;
  // Prepared, as the server prepares them.
  const named = (sql: string) => preparedName({ sql });
  return async (ids: string[]): Promise<void> => {
    const caller = await callerPromise;
    const guard = fastGuard(caller, ids);
    if (caller.kind !== "user" || !guard) throw new Error("the bench's caller must be a user with a built-in role");
    const { sql } = ctx;
    const auth = sessionMemberStatement(claims.tokenVersionId, ctx.orgId);
    await sql.query({ name: named(auth.text), text: auth.text, values: auth.values });
    const origin = { reqId: `req-raw${String(n++).padStart(11, "0")}`, ip: "127.0.0.1", userAgent: "bench" };
    const removal = oneStatementRemoval(caller, ids, guard, origin);
    const { rows } = await sql.query<{ removedCount: number }>({
      name: named(removal.text),
      text: removal.text,
      values: removal.values,
    });
    if (rows[0]?.removedCount !== ids.length) {
      throw new Error(`raw removal deleted ${rows[0]?.removedCount} of ${ids.length}`);
    }
  };
}

export async function benchRemovals(ctx: BenchContext, sizes: { ids: number; runs: number }[]): Promise<RemovalRow[]> {
  const raw = rawRemoval(ctx);
  const ways: Record<Way, (ids: string[]) => Promise<void>> = {
    raw,
    rest: (ids) => viaRest(ctx, ids),
    trpc: (ids) => viaTrpc(ctx, ids),
  };
  const order: Way[] = ["raw", "rest", "trpc"];
  // Warm every path (routes compiled, plans cached, connections open, and the server's hot code
  // optimised by V8: measured cold, the first dozen 1-id requests ran at about twice the time of
  // the later ones); not measured.
  const take = taker(await addMembers(ctx, WARM_UP * order.length, 0));
  await Promise.all(
    order.flatMap((way) =>
      Array.from({ length: WARM_UP_CONNECTIONS }, async () => {
        for (let i = 0; i < WARM_UP / WARM_UP_CONNECTIONS; i++) await ways[way]([take()]);
      }),
    ),
  );

  const out: RemovalRow[] = [];
  for (const { ids: size, runs } of sizes) {
    const times: Record<Way, number[]> = { raw: [], rest: [], trpc: [] };
    // Every run's members are added first, so no run starts right after a bulk insert (which
    // disturbed whichever way came first after it) and the ways follow each other without gaps.
    const fresh = await addMembers(ctx, size * 3 * runs);
    await settle(ctx);
    for (let r = 0; r < runs; r++) {
      for (let k = 0; k < 3; k++) {
        const way = order[(r + k) % 3] as Way;
        const from = (r * 3 + k) * size;
        const ids = fresh.slice(from, from + size);
        const t = performance.now();
        await ways[way](ids);
        times[way].push(performance.now() - t);
      }
    }
    const rawMs = median(times.raw);
    out.push({
      database: ctx.database,
      ids: size,
      runs,
      rawMs: round(rawMs),
      restMs: round(median(times.rest)),
      restRatio: round(median(times.rest) / rawMs, 2),
      trpcMs: round(median(times.trpc)),
      trpcRatio: round(median(times.trpc) / rawMs, 2),
    });
  }
  return out;
}
