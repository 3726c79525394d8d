import { pathToFileURL } from "node:url";
import { verifyBearer } from "../src/auth/caller";
import { bulkDeleteMemberships } from "../src/services/bulk-delete-memberships";
import { restoreMemberships } from "../src/services/membership-snapshots";
import { addMembers, type BenchContext, type HttpAnswer, median, round, send, withServiceBench } from "./support";

const IDS = 1000;

export interface RestoreRow {
  database: string;
  /** "REST" (over HTTP, the whole request) or "service" (the service call in-process). */
  via: string;
  ids: number;
  rounds: number;
  removeMs: number;
  restoreMs: number;
  restoreOverRemove: number;
}

interface Way {
  remove(ids: string[]): Promise<string>;
  restore(batchId: string): Promise<number>;
}

function expectOk(res: HttpAnswer, what: string): Record<string, unknown> {
  if (res.status !== 200) throw new Error(`${what} answered ${res.status}: ${res.text.slice(0, 300)}`);
  return JSON.parse(res.text) as Record<string, unknown>;
}

function viaRest(ctx: BenchContext): Way {
  const url = `${ctx.baseUrl}/api/v2/organizations/${ctx.orgId}/memberships`;
  const headers = { authorization: `Bearer ${ctx.admin.token}`, "content-type": "application/json" };
  return {
    async remove(ids) {
      const res = await send(url, { method: "DELETE", headers, body: JSON.stringify({ membershipIds: ids }) });
      expectOk(res, "REST removal");
      return res.headers["x-request-id"] as string;
    },
    async restore(batchId) {
      const res = await send(`${url}/restore`, { method: "POST", headers, body: JSON.stringify({ batchId }) });
      return (expectOk(res, "REST restore").memberships as unknown[]).length;
    },
  };
}

function viaService(ctx: BenchContext): Way {
  const caller = verifyBearer(ctx.prisma, `Bearer ${ctx.admin.token}`, ctx.secret);
  let n = 0;
  const reqId = (kind: string) => `req-${kind}${String(++n).padStart(14 - kind.length, "0")}`;
  return {
    async remove(ids) {
      const origin = { reqId: reqId("rm"), ip: null, userAgent: "restore-bench" };
      await bulkDeleteMemberships(ctx.prisma, await caller, ids, origin);
      return origin.reqId;
    },
    async restore(batchId) {
      const origin = { reqId: reqId("un"), ip: null, userAgent: "restore-bench" };
      return (await restoreMemberships(ctx.prisma, await caller, { batchId }, origin)).memberships.length;
    },
  };
}

async function measure(ctx: BenchContext, via: string, way: Way, rounds: number): Promise<RestoreRow> {
  const removals: number[] = [];
  const restores: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const ids = await addMembers(ctx, IDS, 2);
    let t = performance.now();
    const batchId = await way.remove(ids);
    removals.push(performance.now() - t);
    t = performance.now();
    const restored = await way.restore(batchId);
    restores.push(performance.now() - t);
    // Back as members: the organization grows by 1000 a round, a few percent of it.
    if (restored !== IDS) throw new Error(`restored ${restored} of ${IDS}`);
  }
  const rm = median(removals);
  const un = median(restores);
  return {
    database: ctx.database,
    via,
    ids: IDS,
    rounds,
    removeMs: round(rm),
    restoreMs: round(un),
    restoreOverRemove: round(un / rm, 2),
  };
}

/** Removing 1000 and restoring them, through REST when the app runs (`ctx.baseUrl`) and through the services. */
export async function benchRestore(ctx: BenchContext, rounds = 5): Promise<RestoreRow[]> {
  const rows: RestoreRow[] = [];
  if (ctx.baseUrl) rows.push(await measure(ctx, "REST", viaRest(ctx), rounds));
  rows.push(await measure(ctx, "service", viaService(ctx), rounds));
  return rows;
}

/** On its own: the services on a scratch PostgreSQL database, without the web app. */
async function main(): Promise<void> {
  const members = Number(process.env.BENCH_MEMBERS ?? 10_000);
  const rounds = Number(process.env.BENCH_ROUNDS ?? 5);
  await withServiceBench("roster_restore_bench", members, async (ctx) => {
    console.log(`Removing ${IDS} and restoring them, median ms of ${rounds} rounds, ${members} members`);
    console.table(await benchRestore(ctx, rounds));
  });
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
