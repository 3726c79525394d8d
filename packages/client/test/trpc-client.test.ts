// createRosterClient against the running app: typed procedures over HTTP with a bearer token.
import { baseUrl, memberOf, orgOf, REQ_ID, reseed, testDb, tokenOf } from "@roster/api/testing";
import type { DemoManifest } from "@roster/contract";
import { beforeAll, describe, expect, it } from "vitest";
import { createRosterClient, defaultBaseUrl, RosterApiError, rosterErrorOf } from "../src/index";

// Nothing here writes to the organizations (previews only): one seed for the file.
let manifest: DemoManifest;
beforeAll(async () => {
  manifest = await reseed();
});

describe("createRosterClient", () => {
  it("lists memberships with a user token", async () => {
    const acme = orgOf(manifest, "acme");
    const client = createRosterClient({
      baseUrl: `${baseUrl()}/`,
      token: tokenOf(manifest, "acme", "admin@acme.test"),
    });
    const page = await client.organizations.listMemberships.query({
      organizationId: acme.id,
      search: "user00",
      limit: 5,
    });
    expect(page.total).toBe(9);
    expect(page.items.map((m) => m.user?.email)).toEqual([1, 2, 3, 4, 5].map((i) => `user00${i}@acme.test`));
    expect(page.nextCursor).not.toBeNull();
  });

  it("finds the server through ROSTER_URL, else http://localhost:$PORT, when baseUrl is left out", async () => {
    const acme = orgOf(manifest, "acme");
    const token = tokenOf(manifest, "acme", "admin@acme.test");
    const saved = { ROSTER_URL: process.env.ROSTER_URL, PORT: process.env.PORT };
    const port = new URL(baseUrl()).port;
    try {
      delete process.env.ROSTER_URL;
      process.env.PORT = port;
      expect(defaultBaseUrl()).toBe(`http://localhost:${port}`);
      const byPort = await createRosterClient({ token }).viewer.me.query();
      expect(byPort.organizations.map((o) => o.id)).toContain(acme.id);

      process.env.ROSTER_URL = `${baseUrl()}/`;
      process.env.PORT = "1";
      expect(defaultBaseUrl()).toBe(baseUrl());
      const byUrl = await createRosterClient({ token }).viewer.me.query();
      expect(byUrl.organizations.map((o) => o.id)).toContain(acme.id);
    } finally {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
    expect(defaultBaseUrl({})).toBe("http://localhost:3000");
    expect(defaultBaseUrl({ PORT: "not a port" })).toBe("http://localhost:3000");
    expect(defaultBaseUrl({ PORT: "3700" })).toBe("http://localhost:3700");
  });

  it("previews a removal without removing anything, asking a token function before each request", async () => {
    const acme = orgOf(manifest, "acme");
    const targets = ["user002@acme.test", "member@acme.test"].map((e) => memberOf(manifest, "acme", e));
    let asked = 0;
    const client = createRosterClient({
      baseUrl: baseUrl(),
      token: async () => {
        asked++;
        return tokenOf(manifest, "acme", "admin@acme.test");
      },
    });
    const preview = await client.organizations.previewBulkDeleteMemberships.mutate({
      organizationId: acme.id,
      membershipIds: targets.map((t) => t.membershipId),
    });
    expect(preview.blocker).toBeNull();
    expect(preview.memberships.map((m) => m.user?.email)).toEqual(["user002@acme.test", "member@acme.test"]);
    expect(preview.projectMembershipCount).toBe(targets.reduce((n, t) => n + t.projectMembershipIds.length, 0));
    expect(asked).toBe(1);

    const db = await testDb();
    expect(await db.orgMembership.count({ where: { id: { in: targets.map((t) => t.membershipId) } } })).toBe(2);
  });

  it("reports what would stop a removal, and batches parallel calls", async () => {
    const acme = orgOf(manifest, "acme");
    const admin = memberOf(manifest, "acme", "admin@acme.test");
    const requests: string[] = [];
    const client = createRosterClient({
      baseUrl: baseUrl(),
      token: tokenOf(manifest, "acme", "admin@acme.test"),
      fetch: (input, init) => {
        requests.push(String(input instanceof Request ? input.url : input));
        return fetch(input, init);
      },
    });
    const [own, total] = await Promise.all([
      client.organizations.previewBulkDeleteMemberships.mutate({
        organizationId: acme.id,
        membershipIds: [admin.membershipId],
      }),
      client.organizations.listMembershipIds.query({ organizationId: acme.id, role: "admin" }),
    ]);
    expect(own.blocker).toMatchObject({
      statusCode: 400,
      error: "BadRequest",
      message: "You cannot delete your own organization membership",
    });
    expect(total.total).toBe(2);
    // Queries and mutations travel separately; each kind in one batched request.
    expect(requests).toHaveLength(2);
    expect(requests.every((url) => url.startsWith(`${baseUrl()}/api/trpc/`) && url.includes("batch=1"))).toBe(true);
  });

  it("turns a refusal into a RosterApiError with status, error name, message and reqId", async () => {
    const acme = orgOf(manifest, "acme");
    const client = createRosterClient({ baseUrl: baseUrl(), token: tokenOf(manifest, "acme", "noaccess@acme.test") });
    const err = await client.organizations.listMemberships.query({ organizationId: acme.id }).catch((e: unknown) => e);
    const api = rosterErrorOf(err);
    expect(api).toBeInstanceOf(RosterApiError);
    expect(api).toMatchObject({
      status: 403,
      error: "PermissionDenied",
      message: "You are not allowed to read on member",
    });
    expect(api?.reqId).toMatch(REQ_ID);
    expect(api?.describe()).toBe(`403 PermissionDenied: You are not allowed to read on member (${api?.reqId})`);

    const anonymous = createRosterClient({ baseUrl: baseUrl(), token: "not-a-token" });
    const malformed = rosterErrorOf(await anonymous.viewer.me.query().catch((e: unknown) => e));
    expect(malformed).toMatchObject({ status: 401, error: "TokenError" });

    const invalid = rosterErrorOf(
      await client.organizations.previewBulkDeleteMemberships
        .mutate({ organizationId: acme.id, membershipIds: ["nope"] })
        .catch((e: unknown) => e),
    );
    expect(invalid).toMatchObject({ status: 422, error: "ValidationFailure" });
    expect(invalid?.issues?.[0]).toMatchObject({ path: ["membershipIds", 0], message: "Invalid UUID" });

    expect(rosterErrorOf(new Error("plain"))).toBeNull();
  });
});
