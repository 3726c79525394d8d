// Check 13 raced, and nothing else: two callers remove the last two admins at once, one each,
// and the organization lock must let exactly one removal through (contract: "What a 200 does":
// removals that include an active admin are serialised per organization). Real HTTP against the
// running app. On the embedded database transactions never overlap, so there this catches a
// missing check 13 but not a missing lock (see bulk-delete-concurrency.test.ts).
//
// Mutants: `scripts/mutants.sh` applies each of "check 13 disabled" and "organization lock
// removed" to the service in turn, runs the race tests (this file and
// bulk-delete-concurrency.test.ts) on PostgreSQL (this file must fail), restores the source (also
// on failure or interrupt), and runs them once more on the real code (they must pass).
import { DELETED_EVENT, identityOf, MSG, reseed, testDb } from "@roster/api/testing";
import type { Db } from "@roster/db";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { fixtures, grantEverything, MEMBER, users } from "./support/fixtures";
import type { Outcome } from "./support/http";
import { identityBearer } from "./support/identities";
import { armBulkDelete, describeAnswers, expectWireEnvelope, fireInOrder, racerAgents, warm } from "./support/races";
import { activeAdminIds } from "./support/snapshots";
import type { SurfaceName } from "./support/surfaces";

const LAST_ADMIN = MSG.lastAdmin;
const databaseKind = inject("databaseKind");
const newAgent = racerAgents();

// The callers are not admins, so re-checking them under the lock stops neither, and they never
// target themselves, so check 10 stops neither. Their rules cover an admin's (a custom role with
// every action on every subject; an admin machine identity), so check 12 stops neither. Two
// admins, two removals, each of a different admin: if both went through the organization would
// have no admin left. The only thing that may stop the second is check 13, and only if it sees the
// first's commit, which the organization lock guarantees.

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
      const identity = identityOf(fx.manifest, "acme", "deprovisioner");
      if (identity.role !== "admin") throw new Error("the demo data has no admin identity named deprovisioner");
      const callers = [
        { name: "custom-role user", authorization: fx.bearer(MEMBER), agent: newAgent() },
        { name: "admin identity", authorization: await identityBearer(identity), agent: newAgent() },
      ];
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
