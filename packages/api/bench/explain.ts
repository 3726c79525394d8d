import { sessionMemberStatement, verifyBearer } from "../src/auth/caller";
import {
  fastGuard,
  membershipsStatement,
  oneStatementRemoval,
  removalStatement,
  type TargetRow,
  toTargets,
} from "../src/services/bulk-delete-memberships";
import { addMembers, withServiceBench } from "./support";

const MEMBERS = Number(process.env.BENCH_MEMBERS ?? 100_000);
const IDS = 1000;

async function main(): Promise<void> {
  await withServiceBench("roster_explain", MEMBERS, async (ctx) => {
    {
      const { sql } = ctx;
      const ids = await addMembers(ctx, IDS, 2);
      await sql.query("VACUUM ANALYZE");
      const caller = await verifyBearer(ctx.prisma, `Bearer ${ctx.admin.token}`, ctx.secret);
      const acme = { id: ctx.orgId };

      const explain = async (label: string, text: string, values: unknown[]) => {
        const { rows } = await sql.query<{ "QUERY PLAN": string }>(`EXPLAIN (ANALYZE, BUFFERS) ${text}`, values);
        console.log(`\n=== ${label}\n${rows.map((r) => r["QUERY PLAN"]).join("\n")}`);
      };
      const claims = JSON.parse(Buffer.from(ctx.admin.token.split(".")[1] ?? "", "base64url").toString()) as {
        tokenVersionId: string;
        userId: string;
      };
      for (let pass = 0; pass < 2; pass++) {
        // The first pass warms the caches; the second is the one to read.
        console.log(`\n##### pass ${pass + 1} (${pass === 0 ? "cold" : "warm"})`);
        const auth = sessionMemberStatement(claims.tokenVersionId, acme.id);
        await explain("checks 3 and 5: the session, its user and the caller's membership", auth.text, auth.values);
        await sql.query("BEGIN");
        const read = membershipsStatement(acme.id, ids, caller.membership.id, true);
        await explain(`the locking read, ${IDS} ids`, read.text, read.values);
        const { rows } = await sql.query<TargetRow>(read.text, read.values);
        const targets = toTargets(rows).filter((t) => t.id !== caller.membership.id);
        const write = removalStatement(caller, targets, {
          reqId: "req-explain0000000",
          ip: null,
          userAgent: "explain",
        });
        await explain(`the transaction's writing statement, ${IDS} ids`, write.text, write.values);
        await sql.query("ROLLBACK");
        // The one statement of plain members' removals: the locking read, the verdict and the
        // same writes (rolled back too).
        const guard = fastGuard(caller, ids);
        if (caller.kind !== "user" || !guard) throw new Error("the bench's caller must be a user with a built-in role");
        const one = oneStatementRemoval(caller, ids, guard, {
          reqId: "req-explain0000001",
          ip: null,
          userAgent: "explain",
        });
        await sql.query("BEGIN");
        await explain(`the one-statement removal, ${IDS} ids`, one.text, one.values);
        await sql.query("ROLLBACK");
      }
    }
  });
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
