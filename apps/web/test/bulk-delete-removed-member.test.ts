// A member removed by a bulk delete (on either surface): refused at their very next request on
// both surfaces, while their account and their other organization stay.
import { MSG, testDb } from "@roster/api/testing";
import { beforeEach, describe, expect, it } from "vitest";
import { ADMIN, type Fx, MEMBER, Seeded } from "./support/fixtures";
import { rest, SURFACES } from "./support/surfaces";

const NOT_MEMBER = { status: 403, error: "ForbiddenError", message: MSG.notMember };

const seeded = new Seeded();
let fx: Fx;

describe.each(SURFACES)("a member removed over $name", (surface) => {
  beforeEach(async () => {
    fx = await seeded.get();
    seeded.dirty(); // the test removes a member
  });

  it("is refused at its very next request on both surfaces, and keeps its account and its other organization", async () => {
    const db = await testDb();
    const member = fx.bearer(MEMBER);
    // the token works up to the removal
    expect((await rest.listMemberships({ authorization: member, orgId: fx.acme.id })).status).toBe(200);

    const removed = await surface.bulkDelete({
      authorization: fx.bearer(ADMIN),
      orgId: fx.acme.id,
      body: { membershipIds: [fx.id(MEMBER)] },
    });
    expect(removed.status).toBe(200);

    for (const next of SURFACES) {
      const del = await next.bulkDelete({
        authorization: member,
        orgId: fx.acme.id,
        body: { membershipIds: [fx.id("user001@acme.test")] },
      });
      expect({ status: del.status, error: del.error, message: del.message }, next.name).toEqual(NOT_MEMBER);
      const list = await next.listMemberships({ authorization: member, orgId: fx.acme.id });
      expect({ status: list.status, error: list.error, message: list.message }, next.name).toEqual(NOT_MEMBER);
    }

    // the user row and the globex membership stay, and the globex token still works
    expect(await db.user.count({ where: { id: fx.userId(MEMBER) } })).toBe(1);
    expect(await db.orgMembership.count({ where: { id: fx.id(MEMBER, "globex") } })).toBe(1);
    for (const next of SURFACES) {
      const list = await next.listMemberships({ authorization: fx.bearer(MEMBER, "globex"), orgId: fx.globex.id });
      expect(list.status, next.name).toBe(200);
      expect((list.data as { users: { id: string }[] }).users.map((u) => u.id)).toContain(fx.id(MEMBER, "globex"));
    }
    // and nothing of acme's is readable or removable with it
    const cross = await surface.bulkDelete({
      authorization: fx.bearer(MEMBER, "globex"),
      orgId: fx.acme.id,
      body: { membershipIds: [fx.id("user001@acme.test")] },
    });
    expect(cross.status).toBe(403);
    expect(cross.error).toBe("ForbiddenError");
  });
});
