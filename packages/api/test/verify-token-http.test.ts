// Checks 1 to 5 of the contract ("Order of checks", "Access tokens"), row by row, over HTTP
// against the running app: tRPC `viewer.me` (the rows: verify-token-rows.ts; against verifyBearer
// directly: verify-token.test.ts).
import { getConfig } from "@roster/config";
import type { DemoManifest, ViewerDto } from "@roster/contract";
import { beforeAll, describe, expect, it } from "vitest";
import type { z } from "zod";
import { can } from "../src/permissions";
import { baseUrl, MSG, memberOf, orgOf, REQ_ID, reseed, testDb, tokenOf } from "./support";
import { freshAdminSession, INVALID_TOKEN, ROWS, token } from "./verify-token-rows";

interface TrpcBody {
  result?: { data: z.infer<typeof ViewerDto> };
  error?: { message: string; data: { httpStatus: number; error: string; reqId: string | null } };
}

async function viewerMe(authorization: string | undefined) {
  const res = await fetch(`${baseUrl()}/api/trpc/viewer.me`, {
    headers: authorization === undefined ? {} : { authorization },
  });
  return { res, body: (await res.json()) as TrpcBody };
}

describe("GET /api/trpc/viewer.me, checks 1 to 5 over HTTP", () => {
  let manifest: DemoManifest;
  beforeAll(async () => {
    manifest = await reseed();
  });

  it.each(ROWS)("refuses $name: $status $error", async (row) => {
    const { res, body } = await viewerMe(await row.authorization(manifest));
    expect(res.status).toBe(row.status);
    expect(res.headers.get("content-type")).toMatch(/^application\/json/);
    expect({
      error: body.error?.data?.error,
      message: body.error?.message,
      httpStatus: body.error?.data?.httpStatus,
    }).toEqual({
      error: row.error,
      message: row.message,
      httpStatus: row.status,
    });
    expect(body.error?.data.reqId).toMatch(REQ_ID);
    expect(res.headers.get("x-request-id")).toBe(body.error?.data.reqId);
    expect(res.headers.get("www-authenticate")).toBe(row.wwwAuthenticate);
    expect(body).not.toHaveProperty("result");
  });

  it("answers 200 with the caller and the token's organization only", async () => {
    const acme = orgOf(manifest, "acme");
    const admin = memberOf(manifest, "acme", "admin@acme.test");
    const { res, body } = await viewerMe(token(admin.accessToken as string));
    expect(res.status).toBe(200);
    expect(res.headers.get("x-request-id")).toMatch(REQ_ID);
    expect(res.headers.get("www-authenticate")).toBeNull();
    expect(body.result?.data).toMatchObject({
      user: { id: admin.userId, email: admin.email, firstName: expect.any(String), lastName: expect.any(String) },
      organizations: [
        { id: acme.id, slug: "acme", name: "Acme Corp", role: "admin", membershipId: admin.membershipId },
      ],
      limits: { maxBulkDelete: getConfig().maxBulkDelete, restoreWindowDays: getConfig().restoreWindowDays },
    });
    expect(can(body.result?.data.organizations[0]?.rules ?? [], "delete", "member")).toBe(true);

    // member@acme.test belongs to both organizations; each token sees only its own
    const globex = orgOf(manifest, "globex");
    const inGlobex = memberOf(manifest, "globex", "member@acme.test");
    const other = await viewerMe(token(inGlobex.accessToken as string));
    expect(other.res.status).toBe(200);
    expect(other.body.result?.data.organizations).toMatchObject([
      { id: globex.id, slug: "globex", name: "Globex", role: "member", membershipId: inGlobex.membershipId },
    ]);
    const memberRules = other.body.result?.data.organizations[0]?.rules ?? [];
    expect(can(memberRules, "read", "member")).toBe(true);
    expect(can(memberRules, "delete", "member")).toBe(false);
  });

  it("keeps answering a token that verified, on every next request", async () => {
    const authorization = token(tokenOf(manifest, "acme", "member@acme.test"));
    const ids = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const { res, body } = await viewerMe(authorization);
      expect(res.status).toBe(200);
      expect(body.result?.data.user.email).toBe("member@acme.test");
      ids.add(res.headers.get("x-request-id") as string);
    }
    expect(ids.size).toBe(3);
  });

  it("refuses a removed member's token on its very next request", async () => {
    const user = memberOf(manifest, "acme", "user021@acme.test");
    const authorization = token(user.accessToken as string);
    const before = await viewerMe(authorization);
    expect(before.res.status).toBe(200);
    expect(before.body.result?.data.organizations).toHaveLength(1);

    await (await testDb()).orgMembership.delete({ where: { id: user.membershipId } });
    const after = await viewerMe(authorization);
    expect(after.res.status).toBe(403);
    expect(after.body.error?.message).toBe(MSG.notMember);
    expect(after.body.error?.data).toMatchObject({ httpStatus: 403, error: "ForbiddenError" });
    expect(after.res.headers.get("x-request-id")).toBe(after.body.error?.data.reqId);
  });

  it("refuses a token on its next request once its session is revoked", async () => {
    const issued = await freshAdminSession(manifest);
    expect((await viewerMe(token(issued.token))).res.status).toBe(200);
    await (await testDb()).authSession.update({ where: { id: issued.sessionId }, data: { revokedAt: new Date() } });
    const { res, body } = await viewerMe(token(issued.token));
    expect(res.status).toBe(401);
    expect(body.error?.data.error).toBe("StaleSession");
    expect(res.headers.get("www-authenticate")).toBe(INVALID_TOKEN);
  });
});
