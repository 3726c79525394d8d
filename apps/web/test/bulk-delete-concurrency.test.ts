// bulkDeleteOrgMemberships under concurrent requests (contract: "What a 200 does", serialised per
// organization). Real HTTP against the running app, plus tRPC server-side callers racing it.
// Needs PostgreSQL: the embedded database serves a single session, so nothing would overlap.
import { createCaller, createInnerContext } from "@roster/api";
import { baseUrl, memberOf, orgOf, reseed, testDb, tokenOf } from "@roster/api/testing";
import type { Db } from "@roster/db";
import type { TRPCError } from "@trpc/server";
import { beforeAll, describe, expect, inject, it } from "vitest";

const DELETED_EVENT = "organization.membership.deleted";
const LAST_ADMIN = "This action would leave the organization with no admin. Promote another user to admin first.";
const NOT_MEMBER = "User not member of organization";
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

const onPostgres = inject("databaseKind") === "postgres";
const SKIP_REASON =
  "needs PostgreSQL (DATABASE_URL): the embedded database serves a single session, so concurrent requests never overlap in it";

/** mulberry32: a small seeded RNG, so a failing interleaving's inputs can be replayed. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

function shuffle<T>(items: readonly T[], random: () => number): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

interface Answer {
  status: number;
  reqId: string | null;
  body: {
    memberships?: { id: string }[];
    error?: string;
    message?: unknown;
    statusCode?: number;
    reqId?: string;
  };
}

async function restDelete(orgId: string, token: string, membershipIds: string[]): Promise<Answer> {
  const res = await fetch(`${baseUrl()}/api/v2/organizations/${orgId}/memberships`, {
    method: "DELETE",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ membershipIds }),
  });
  const text = await res.text();
  let body: Answer["body"];
  try {
    body = JSON.parse(text) as Answer["body"];
  } catch {
    throw new Error(`non-JSON answer ${res.status}: ${text.slice(0, 300)}`);
  }
  return { status: res.status, reqId: res.headers.get("x-request-id"), body };
}

/** Every failure answer carries the envelope, and its reqId is the x-request-id header's. */
function expectEnvelope(a: Answer): void {
  if (a.status === 200) return;
  expect(a.body.statusCode).toBe(a.status);
  expect(a.body.reqId).toBe(a.reqId);
}

const ids404 = (a: Answer): string[] => (typeof a.body.message === "string" ? (a.body.message.match(UUID) ?? []) : []);

/** The deleted-membership audit events of `targets`, by target id. */
async function auditOf(prisma: Db, orgId: string, targets: string[]) {
  return prisma.auditEvent.findMany({
    where: { orgId, eventType: DELETED_EVENT, targetId: { in: targets } },
    select: { targetId: true, batchId: true },
  });
}

async function remaining(prisma: Db, ids: string[]): Promise<Set<string>> {
  const rows = await prisma.orgMembership.findMany({ where: { id: { in: ids } }, select: { id: true } });
  return new Set(rows.map((r) => r.id));
}

/**
 * The invariant of a race: the union of the ids returned by the 200s is exactly the set of ids
 * gone from the database, no id is returned twice, and each gone id has exactly one audit event,
 * whose batch id is the reqId of the answer that returned it.
 */
async function expectDeletedExactlyOnce(prisma: Db, orgId: string, candidates: string[], answers: Answer[]) {
  const returnedBy = new Map<string, string | null>();
  for (const a of answers.filter((x) => x.status === 200)) {
    for (const m of a.body.memberships ?? []) {
      expect(returnedBy.has(m.id), `membership ${m.id} returned by two answers`).toBe(false);
      returnedBy.set(m.id, a.reqId);
    }
  }
  const left = await remaining(prisma, candidates);
  const gone = candidates.filter((id) => !left.has(id));
  expect(new Set(returnedBy.keys())).toEqual(new Set(gone));
  const events = await auditOf(prisma, orgId, candidates);
  expect(events).toHaveLength(gone.length);
  for (const e of events) expect(e.batchId).toBe(returnedBy.get(e.targetId as string));
  return { gone, left };
}

describe("bulk delete under concurrency", () => {
  if (!onPostgres) {
    it.skip(`runs only on PostgreSQL: ${SKIP_REASON}`, () => {});
    return;
  }

  let prisma: Db;
  beforeAll(async () => {
    prisma = await testDb();
  });

  it("20 overlapping requests: only 200 or 404, and every membership deleted exactly once", async () => {
    const random = rng(0x5eed_0001);
    for (let round = 0; round < 3; round++) {
      const manifest = await reseed();
      const acme = orgOf(manifest, "acme");
      const pool = acme.members.filter((m) => /^user\d{3}@acme\.test$/.test(m.email)).slice(0, 100);
      expect(pool).toHaveLength(100);
      const candidates = pool.map((m) => m.membershipId);
      const tokens = [tokenOf(manifest, "acme", "admin@acme.test"), tokenOf(manifest, "acme", "admin2@acme.test")];
      const slices = Array.from({ length: 20 }, () => {
        const len = 20 + Math.floor(random() * 21);
        const start = Math.floor(random() * (candidates.length - len + 1));
        return shuffle(candidates.slice(start, start + len), random);
      });
      const pmBefore = await prisma.projectMembership.count({ where: { project: { orgId: acme.id } } });

      const answers = await Promise.all(slices.map((ids, i) => restDelete(acme.id, tokens[i % 2] as string, ids)));

      const statuses = answers.map((a) => a.status);
      expect(
        statuses.filter((s) => s !== 200 && s !== 404),
        JSON.stringify(answers.filter((a) => a.status !== 200 && a.status !== 404)),
      ).toEqual([]);
      expect(statuses).toContain(200); // the first to take the lock finds every id
      answers.forEach(expectEnvelope);
      answers.forEach((a, i) => {
        if (a.status === 200) {
          // a 200 returns exactly what it was given, in the order given
          expect(a.body.memberships?.map((m) => m.id)).toEqual(slices[i]);
        } else {
          expect(a.body.error).toBe("NotFound");
          // it names only ids that were valid before the race, so some other request took them
          const named = ids404(a).filter((id) => id !== acme.id);
          expect(named.length).toBeGreaterThan(0);
          for (const id of named) expect(slices[i]).toContain(id);
        }
      });
      const { gone } = await expectDeletedExactlyOnce(prisma, acme.id, candidates, answers);
      // a 404 names only ids that another request deleted (all of them existed before the race)
      const goneSet = new Set(gone);
      for (const a of answers.filter((x) => x.status === 404)) {
        for (const id of ids404(a).filter((x) => x !== acme.id)) expect(goneSet.has(id)).toBe(true);
      }
      // the removed users' acme project memberships went with them (2 each in the demo data)
      const pmAfter = await prisma.projectMembership.count({ where: { project: { orgId: acme.id } } });
      expect(pmBefore - pmAfter).toBe(2 * gone.length);
      console.log(
        `[concurrency] round ${round}: ${statuses.filter((s) => s === 200).length} x 200, ` +
          `${statuses.filter((s) => s === 404).length} x 404, ${gone.length} memberships deleted`,
      );
    }
  });

  it("admins removing each other concurrently never leave the organization without an admin", async () => {
    const random = rng(0x5eed_0002);
    const tally: Record<string, number> = {};
    for (let round = 0; round < 6; round++) {
      const manifest = await reseed();
      const acme = orgOf(manifest, "acme");
      const promoted = ["user001@acme.test", "user002@acme.test", "user003@acme.test"];
      await prisma.orgMembership.updateMany({
        where: { id: { in: promoted.map((e) => memberOf(manifest, "acme", e).membershipId) } },
        data: { role: "admin" },
      });
      const admins = shuffle(["admin@acme.test", "admin2@acme.test", ...promoted], random).map((email) => ({
        email,
        membershipId: memberOf(manifest, "acme", email).membershipId,
        token: tokenOf(manifest, "acme", email),
      }));
      const n = admins.length;
      // Plain members each request also removes (disjoint between requests), so transactions
      // hold the lock a little longer and overlap more.
      const extras = acme.members.filter((m) => /^user\d{3}@acme\.test$/.test(m.email) && !promoted.includes(m.email));
      // Every admin is some request's target and no request targets its caller: if every request
      // succeeded, no admin would remain. Round by round: a ring, two steps of a ring, all others.
      const pattern = round % 3;
      const requests = admins.map((caller, i) => {
        const targets =
          pattern === 0
            ? [admins[(i + 1) % n]]
            : pattern === 1
              ? [admins[(i + 1) % n], admins[(i + 2) % n]]
              : admins.filter((_, j) => j !== i);
        const plain = extras.slice(i * 10, i * 10 + 10).map((m) => m.membershipId);
        return {
          caller,
          ids: shuffle([...targets.map((t) => (t as (typeof admins)[number]).membershipId), ...plain], random),
        };
      });
      const candidates = [...admins.map((a) => a.membershipId), ...requests.flatMap((r) => r.ids)];

      const answers = await Promise.all(requests.map((r) => restDelete(acme.id, r.caller.token, r.ids)));

      for (const a of answers) {
        tally[a.status] = (tally[a.status] ?? 0) + 1;
        expectEnvelope(a);
        if (a.status === 200 || a.status === 404) continue;
        if (a.status === 400) {
          expect(a.body).toMatchObject({ error: "BadRequest", message: LAST_ADMIN });
          continue;
        }
        // A caller removed by a request that committed before this one was verified is no longer
        // a member (check 5): the only other answer the contract allows here.
        expect(a.status, JSON.stringify(a.body)).toBe(403);
        expect(a.body).toMatchObject({ error: "ForbiddenError", message: NOT_MEMBER });
      }
      expect(answers.map((a) => a.status)).toContain(200);
      await expectDeletedExactlyOnce(prisma, acme.id, [...new Set(candidates)], answers);

      const activeAdmins = await prisma.orgMembership.count({
        where: { orgId: acme.id, role: "admin", status: "accepted", isActive: true },
      });
      expect(activeAdmins).toBeGreaterThanOrEqual(1);
      console.log(
        `[concurrency] admins round ${round} (pattern ${pattern}): ${answers.map((a) => a.status).join(" ")}; ${activeAdmins} admin(s) left`,
      );
    }
    console.log(`[concurrency] admin races, answers over all rounds: ${JSON.stringify(tally)}`);
  });

  it("tRPC (server-side caller) and REST racing on the same ids: one of them deletes each", async () => {
    const random = rng(0x5eed_0003);
    const manifest = await reseed();
    const acme = orgOf(manifest, "acme");
    const pool = acme.members.filter((m) => /^user\d{3}@acme\.test$/.test(m.email)).map((m) => m.membershipId);
    const adminAuth = `Bearer ${tokenOf(manifest, "acme", "admin@acme.test")}`;
    const adminToken2 = tokenOf(manifest, "acme", "admin2@acme.test");

    /** A fresh server-side caller per call, as each HTTP request gets its own context and reqId. */
    const trpcDelete = async (membershipIds: string[]): Promise<Answer> => {
      const ctx = createInnerContext({
        prisma,
        auth: { kind: "bearer", authorization: adminAuth },
        ip: "10.0.0.9",
        userAgent: "concurrency-test-trpc",
      });
      try {
        const data = await createCaller(ctx).organizations.bulkDeleteMemberships({
          organizationId: acme.id,
          membershipIds,
        });
        return { status: 200, reqId: ctx.reqId, body: data };
      } catch (err) {
        // By name, not instanceof: the web app and the api package may each resolve their own @trpc/server.
        if (!(err instanceof Error) || err.name !== "TRPCError") throw err;
        const cause = (err as TRPCError).cause as { status?: number; errorName?: string } | undefined;
        return {
          status: cause?.status ?? 500,
          reqId: ctx.reqId,
          body: { error: cause?.errorName, message: err.message },
        };
      }
    };

    let trpcWins = 0;
    let restWins = 0;
    const all: string[] = [];
    const answers: Answer[] = [];
    for (let round = 0; round < 10; round++) {
      const ids = pool.slice(round * 20, round * 20 + 20);
      all.push(...ids);
      // The in-process caller skips HTTP, so it starts a little late, by a random few ms, to let
      // either side take the lock first.
      const stagger = Math.floor(random() * 40);
      const [viaTrpc, viaRest] = await Promise.all([
        sleep(stagger).then(() => trpcDelete(shuffle(ids, random))),
        restDelete(acme.id, adminToken2, shuffle(ids, random)),
      ]);
      expect([viaTrpc.status, viaRest.status].sort()).toEqual([200, 404]);
      const loser = viaTrpc.status === 404 ? viaTrpc : viaRest;
      expect(loser.body.error).toBe("NotFound");
      if (viaTrpc.status === 200) trpcWins++;
      else restWins++;
      answers.push(viaTrpc, viaRest);
    }
    await expectDeletedExactlyOnce(prisma, acme.id, all, answers);
    expect(await remaining(prisma, all)).toEqual(new Set());
    console.log(`[concurrency] tRPC vs REST on the same ids, 10 rounds: tRPC won ${trpcWins}, REST won ${restWins}`);
  });
});
