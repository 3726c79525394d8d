// previewBulkDeleteMemberships (tRPC): what a removal would take with it, or the refusal a real
// request would answer with, and never a write.
import { MSG, testDb } from "@roster/api/testing";
import { beforeEach, describe, expect, it } from "vitest";
import {
  ADMIN,
  ADMIN2,
  type Fx,
  grantEverything,
  MEMBER,
  NOACCESS,
  REMOVER,
  Seeded,
  UNKNOWN as UNKNOWN_IDS,
} from "./support/fixtures";
import { MEMBERSHIP_KEYS, unchangedProbe } from "./support/snapshots";
import { trpc, trpcCallerFor } from "./support/surfaces";

const UNKNOWN = UNKNOWN_IDS[0] as string;
const LAST_ADMIN = MSG.lastAdmin;

const seeded = new Seeded();
let fx: Fx;

describe("previewBulkDeleteMemberships (tRPC)", () => {
  beforeEach(async () => {
    fx = await seeded.get();
  });

  it("lists what would go, with users and the project membership count, and writes nothing", async () => {
    const db = await testDb();
    const before = await unchangedProbe(db);
    const ids = ["user001@acme.test", "user002@acme.test", "user003@acme.test"].map((e) => fx.id(e));
    const caller = await trpcCallerFor(fx.bearer(ADMIN));
    const preview = await caller.organizations.previewBulkDeleteMemberships({
      organizationId: fx.acme.id,
      membershipIds: [` ${ids[0]} `, ...ids, ids[1] as string],
    });
    expect(preview.blocker).toBeNull();
    expect(preview.projectMembershipCount).toBe(6);
    expect(preview.memberships.map((m) => m.id)).toEqual(ids);
    for (const m of preview.memberships) {
      expect(Object.keys(m).sort()).toEqual([...MEMBERSHIP_KEYS, "user"].sort());
      expect(m.user?.id).toBe(m.userId);
    }
    expect(preview.memberships[0]?.user?.email).toBe("user001@acme.test");
    expect(await unchangedProbe(db)).toEqual(before);
  });

  it("counts no project memberships for invitations", async () => {
    const caller = await trpcCallerFor(fx.bearer(ADMIN));
    const preview = await caller.organizations.previewBulkDeleteMemberships({
      organizationId: fx.acme.id,
      membershipIds: [fx.id("invitee01@acme.test")],
    });
    expect(preview).toMatchObject({
      blocker: null,
      projectMembershipCount: 0,
      memberships: [{ userId: null, user: null }],
    });
  });

  it.each([
    {
      name: "not found (the found ones still listed)",
      caller: REMOVER,
      ids: (f: Fx) => [f.id("user001@acme.test"), UNKNOWN],
      listed: 1,
    },
    {
      name: "the permission boundary",
      caller: REMOVER,
      ids: (f: Fx) => [f.id("user001@acme.test"), f.id(ADMIN)],
      listed: 2,
    },
    { name: "the caller's own membership", caller: ADMIN, ids: (f: Fx) => [f.id(ADMIN)], listed: 0 },
    { name: "no delete on member", caller: MEMBER, ids: (f: Fx) => [f.id("user001@acme.test")], listed: 0 },
    { name: "the last admin", caller: NOACCESS, setup: true, ids: (f: Fx) => [f.id(ADMIN), f.id(ADMIN2)], listed: 2 },
  ])("reports the blocker a real request would answer with: $name", async ({ caller, ids, setup, listed }) => {
    const db = await testDb();
    if (setup) {
      seeded.dirty();
      await grantEverything(fx, db, NOACCESS);
    }
    const before = await unchangedProbe(db);
    const preview = await (await trpcCallerFor(fx.bearer(caller))).organizations.previewBulkDeleteMemberships({
      organizationId: fx.acme.id,
      membershipIds: ids(fx),
    });
    expect(await unchangedProbe(db)).toEqual(before);
    const real = await trpc.bulkDelete({
      authorization: fx.bearer(caller),
      orgId: fx.acme.id,
      body: { membershipIds: ids(fx) },
    });
    expect(real.status).not.toBe(200);
    expect(preview.blocker).toEqual({
      statusCode: real.status,
      error: real.error,
      message: real.message,
      ...(real.details !== undefined ? { details: real.details } : {}),
    });
    expect(preview.memberships).toHaveLength(listed);
    if (caller === NOACCESS) expect(preview.blocker?.message).toBe(LAST_ADMIN);
    expect(await unchangedProbe(db)).toEqual(before);
  });

  it("needs read on member", async () => {
    const out = await (async () => {
      try {
        await (await trpcCallerFor(fx.bearer(NOACCESS))).organizations.previewBulkDeleteMemberships({
          organizationId: fx.acme.id,
          membershipIds: [fx.id("user001@acme.test")],
        });
        return null;
      } catch (err) {
        return err as Error & { cause?: { status?: number; errorName?: string } };
      }
    })();
    expect(out?.message).toBe("You are not allowed to read on member");
    expect(out?.cause).toMatchObject({ status: 403, errorName: "PermissionDenied" });
  });
});
