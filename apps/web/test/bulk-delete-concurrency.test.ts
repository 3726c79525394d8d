// bulkDeleteOrgMemberships under concurrent requests (contract: "What a 200 does": removals that
// include an active admin are serialised per organization). Real HTTP against the running app.
//
// The races run on both databases, but they prove different things there. On PostgreSQL the
// transactions of racing requests overlap, and only the organization lock keeps two of them from
// both passing check 13. The embedded database serves one session at a time: a transaction holds
// it from BEGIN to COMMIT, so racing transactions run one after the other whatever the code locks.
// There the races still check what every interleaving must give (exactly one 200 and one 400 when
// two callers remove the last two admins, each membership deleted once) and so catch a missing
// check 13, but not a missing lock: on the embedded database the lock is covered by the statement
// test (packages/api/test/bulk-delete-statements.test.ts), and on PostgreSQL by the races below.
//
// Mutants: `scripts/mutants.sh` applies each of "check 13 disabled" and "organization lock
// removed" to the service in turn, runs this file on PostgreSQL (it must fail), restores the
// source (also on failure or interrupt), and runs it once more on the real code (it must pass).
import type http from "node:http";
import { baseUrl, memberOf, orgOf, reseed, testDb, tokenOf } from "@roster/api/testing";
import type { Db } from "@roster/db";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import {
  ADMIN,
  ADMIN2,
  type Armed,
  armBulkDelete,
  fixtures,
  grantEverything,
  identityBearer,
  MEMBER,
  MSG,
  type Outcome,
  REQ_ID,
  racerAgent,
  type SurfaceName,
  users,
} from "./surfaces";

const DELETED_EVENT = "organization.membership.deleted";
const LAST_ADMIN = MSG.lastAdmin;
const NOT_MEMBER = MSG.notMember;
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

const databaseKind = inject("databaseKind");

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
  }, 120_000);

  // What this one guards is the caller's re-check under the lock: no request targets its own
  // caller, so whichever request runs last still has its caller as an admin, and check 13 is
  // never what stops it (its 400 hardly ever happens here). Check 13 alone is raced further down.
  it("admins removing each other concurrently: each caller is re-checked under the lock, and an admin remains", async () => {
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
  }, 120_000);

  it("REST and tRPC over HTTP racing on the same ids: one of them deletes each, and each surface wins some rounds", async () => {
    const random = rng(0x5eed_0003);
    const manifest = await reseed();
    const acme = orgOf(manifest, "acme");
    const pool = acme.members.filter((m) => /^user\d{3}@acme\.test$/.test(m.email)).map((m) => m.membershipId);
    const sides = [
      { surface: "rest" as const, authorization: `Bearer ${tokenOf(manifest, "acme", ADMIN)}`, agent: racerAgent() },
      { surface: "trpc" as const, authorization: `Bearer ${tokenOf(manifest, "acme", ADMIN2)}`, agent: racerAgent() },
    ];
    agents.push(...sides.map((s) => s.agent));
    for (const side of sides) await warm(side.agent, side.surface, side.authorization, acme.id);

    const ROUNDS = 20;
    const wins = { rest: 0, trpc: 0 };
    const firstSentWon = { rest: 0, trpc: 0 };
    const all: string[] = [];
    const answers: Answer[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const ids = pool.slice(round * 10, round * 10 + 10);
      all.push(...ids);
      const armed = await Promise.all(
        sides.map((side) =>
          armBulkDelete(side.agent, side.surface, {
            authorization: side.authorization,
            orgId: acme.id,
            membershipIds: shuffle(ids, random),
          }),
        ),
      );
      // Which side is sent first alternates, so a head start of a few microseconds favours neither.
      const first = round % 2;
      const [viaRest, viaTrpc] = await fireInOrder(armed, first);
      expect([viaRest.status, viaTrpc.status].sort(), describeAnswers([viaRest, viaTrpc])).toEqual([200, 404]);
      const [winner, loser] = viaRest.status === 200 ? (["rest", viaTrpc] as const) : (["trpc", viaRest] as const);
      expect(loser.error).toBe("NotFound");
      wins[winner]++;
      if (sides[first]?.surface === winner) firstSentWon[winner]++;
      answers.push(asAnswer(viaRest), asAnswer(viaTrpc));
    }
    await expectDeletedExactlyOnce(prisma, acme.id, all, answers);
    expect(await remaining(prisma, all)).toEqual(new Set());
    console.log(
      `[concurrency] REST vs tRPC over HTTP on the same ids, ${ROUNDS} rounds (${databaseKind}): ` +
        `REST won ${wins.rest} (${firstSentWon.rest} when sent first), tRPC won ${wins.trpc} (${firstSentWon.trpc} when sent first)`,
    );
    // Both orders through the lock happened: each surface took it first at least once.
    expect(wins.rest).toBeGreaterThan(0);
    expect(wins.trpc).toBeGreaterThan(0);
  }, 120_000);
});

// ---------------------------------------------------------------------------------------------
// Check 13 and nothing else: the callers are not admins, so re-checking them under the lock
// stops neither, and they never target themselves, so check 10 stops neither. Their rules cover
// an admin's (a custom role with every action on every subject; an admin machine identity), so
// check 12 stops neither. Two admins, two removals, each of a different admin: if both went
// through the organization would have no admin left. The only thing that may stop the second is
// check 13, and only if it sees the first's commit, which the organization lock guarantees.

interface RaceMode {
  name: string;
  /** The surfaces of the two callers (the user with the custom role, the identity) in a round. */
  surfaces(round: number): [SurfaceName, SurfaceName];
}

const MODES: RaceMode[] = [
  { name: "both over REST", surfaces: () => ["rest", "rest"] },
  { name: "both over tRPC", surfaces: () => ["trpc", "trpc"] },
  // Which caller uses which surface alternates too, so each surface races from each caller.
  { name: "one over REST, one over tRPC", surfaces: (round) => (round % 4 < 2 ? ["rest", "trpc"] : ["trpc", "rest"]) },
];

const ROUNDS = 20;

describe("the last two admins, removed at once by two callers who are not admins", () => {
  let prisma: Db;
  beforeAll(async () => {
    prisma = await testDb();
  });

  it.each(MODES)(
    "$name: every round ends with one 200, one 400 (last admin) and one admin left",
    async (mode) => {
      const fx = await reseed().then(fixtures);
      const orgId = fx.acme.id;
      // The callers: a user whose custom role holds every action on every subject (not an admin),
      // and the demo's admin machine identity (identities never count as admins).
      await grantEverything(fx, prisma, MEMBER);
      const identity = fx.acme.identities.find((i) => i.name === "deprovisioner");
      if (identity?.role !== "admin") throw new Error("the demo data has no admin identity named deprovisioner");
      const callers = [
        { name: "custom-role user", authorization: fx.bearer(MEMBER), agent: racerAgent() },
        { name: "admin identity", authorization: await identityBearer(identity), agent: racerAgent() },
      ];
      agents.push(...callers.map((c) => c.agent));
      // Both routes compiled and both connections open before the first round.
      for (const c of callers) {
        for (const surface of ["rest", "trpc"] as const) await warm(c.agent, surface, c.authorization, orgId);
      }
      // Each round its own pair of admins: demote every admin, promote two plain members.
      const pool = users(1, 2 * ROUNDS).map((email) => fx.id(email));

      const wins = { byCaller: [0, 0], bySurface: { rest: 0, trpc: 0 }, firstSent: 0 };
      // Rounds that broke the rule are collected rather than stopping the test at the first, so a
      // failure says how often it happens (each round starts from its own pair of admins).
      const broken: string[] = [];
      for (let round = 0; round < ROUNDS; round++) {
        const pair = [pool[2 * round], pool[2 * round + 1]] as [string, string];
        await prisma.orgMembership.updateMany({ where: { orgId, role: "admin" }, data: { role: "member" } });
        await prisma.orgMembership.updateMany({ where: { id: { in: pair } }, data: { role: "admin" } });
        expect(await activeAdminIds(prisma, orgId)).toEqual([...pair].sort());

        // Which caller removes which admin, and which request goes first, vary independently.
        const swap = Math.floor(round / 2) % 2 === 1;
        const targets = swap ? [pair[1], pair[0]] : pair;
        const surfaces = mode.surfaces(round);
        const armed = await Promise.all(
          callers.map((c, i) =>
            armBulkDelete(c.agent, surfaces[i] as SurfaceName, {
              authorization: c.authorization,
              orgId,
              membershipIds: [targets[i] as string],
            }),
          ),
        );
        const first = round % 2;
        const answers = await fireInOrder(armed, first);

        const detail = `round ${round} (${surfaces.join(" vs ")}, caller ${first} sent first): ${describeAnswers(answers)}`;
        const statuses = answers.map((a) => a.status).sort();
        const left = await activeAdminIds(prisma, orgId);
        if (statuses.join() !== "200,400" || left.length !== 1) {
          broken.push(`${detail}; ${left.length} admin(s) left`);
          continue;
        }
        const w = answers.findIndex((a) => a.status === 200);
        const winner = answers[w] as Outcome;
        const loser = answers[1 - w] as Outcome;
        for (const [i, a] of answers.entries()) expectWireEnvelope(a, surfaces[i] as SurfaceName);
        expect({ error: loser.error, message: loser.message }, detail).toEqual({
          error: "BadRequest",
          message: LAST_ADMIN,
        });
        expect(winner.data).toEqual({ memberships: [expect.objectContaining({ id: targets[w], role: "admin" })] });
        // The loser's target is the one admin left, and only the winner's removal was recorded.
        expect(left, detail).toEqual([targets[1 - w]]);
        const events = await prisma.auditEvent.findMany({
          where: { orgId, eventType: DELETED_EVENT, targetId: { in: pair } },
          select: { targetId: true, batchId: true },
        });
        expect(events).toEqual([{ targetId: targets[w], batchId: winner.reqId }]);

        wins.byCaller[w] = (wins.byCaller[w] ?? 0) + 1;
        wins.bySurface[surfaces[w] as SurfaceName]++;
        if (w === first) wins.firstSent++;
      }
      expect(broken, `${broken.length} of ${ROUNDS} rounds did not end with one 200, one 400 and one admin`).toEqual(
        [],
      );
      console.log(
        `[concurrency] last two admins, ${mode.name}, ${ROUNDS} rounds (${databaseKind}): ` +
          `${callers.map((c, i) => `${c.name} won ${wins.byCaller[i]}`).join(", ")}; ` +
          `REST won ${wins.bySurface.rest}, tRPC won ${wins.bySurface.trpc}; the request sent first won ${wins.firstSent}`,
      );
      if (new Set(mode.surfaces(0)).size === 2) {
        // Both orders through the lock happened across surfaces.
        expect(wins.bySurface.rest).toBeGreaterThan(0);
        expect(wins.bySurface.trpc).toBeGreaterThan(0);
      }
    },
    180_000,
  );
});

// ---------------------------------------------------------------------------------------------
// Racing helpers

const agents: http.Agent[] = [];
afterAll(() => {
  for (const agent of agents) agent.destroy();
});

/** An empty removal on `surface` through `agent`: the route compiled, the connection open and kept. */
async function warm(agent: http.Agent, surface: SurfaceName, authorization: string, orgId: string): Promise<void> {
  const armed = await armBulkDelete(agent, surface, { authorization, orgId, membershipIds: [] });
  const answer = await armed.fire();
  expect(answer.status, JSON.stringify(answer.http?.body)).toBe(200);
}

/** Fires both armed requests in one go, `first` (0 or 1) first; the answers in the order armed. */
function fireInOrder(armed: Armed[], first: number): Promise<[Outcome, Outcome]> {
  const [a, b] = armed as [Armed, Armed];
  if (first === 0) {
    const x = a.fire();
    return Promise.all([x, b.fire()]);
  }
  const y = b.fire();
  return Promise.all([a.fire(), y]);
}

const describeAnswers = (answers: Outcome[]) =>
  JSON.stringify(answers.map((a) => ({ status: a.status, error: a.error, message: a.message })));

/** The envelope of a failure on either surface: its reqId is the x-request-id header's. */
function expectWireEnvelope(a: Outcome, surface: SurfaceName): void {
  expect(a.reqId).toMatch(REQ_ID);
  if (a.status === 200) return;
  const body = a.http?.body as Record<string, unknown> & { error?: { data?: Record<string, unknown> } };
  if (surface === "rest") {
    expect(body).toMatchObject({ statusCode: a.status, reqId: a.reqId });
  } else {
    expect(body.error?.data).toMatchObject({ httpStatus: a.status, reqId: a.reqId });
  }
}

function asAnswer(a: Outcome): Answer {
  return { status: a.status, reqId: a.reqId, body: (a.data ?? {}) as Answer["body"] };
}

async function activeAdminIds(prisma: Db, orgId: string): Promise<string[]> {
  const rows = await prisma.orgMembership.findMany({
    where: { orgId, role: "admin", status: "accepted", isActive: true },
    select: { id: true },
  });
  return rows.map((r) => r.id).sort();
}
