// The Universal Auth login throttle over HTTP: five failures for one client id lock it for a
// while (429 with Retry-After), known or not, and a success starts the count afresh.
import { randomUUID } from "node:crypto";
import { MSG, reseed } from "@roster/api/testing";
import { beforeAll, describe, expect, it } from "vitest";
import { type Fx, fixtures } from "./support/fixtures";
import { expectEnvelope, login, makeIdentity } from "./support/identities";

let fx: Fx;

describe("the login throttle over HTTP", () => {
  // These tests only add identities, secrets and tokens of their own (and revoke or age only
  // their own tokens), so they share one seed.
  beforeAll(async () => {
    fx = fixtures(await reseed());
  });

  it("answers 429 RateLimitExceeded with Retry-After after 5 failures for one client id, even to the right secret", async () => {
    const made = await makeIdentity(fx, { role: "member" });
    for (let i = 1; i <= 5; i++) {
      const res = await login(made.clientId, "0".repeat(64));
      expect(res.status, `failure ${i}`).toBe(401);
      expect(res.body.message).toBe(MSG.invalidCredentials);
    }
    for (const secret of ["0".repeat(64), made.clientSecret]) {
      const res = await login(made.clientId, secret);
      const retryAfter = Number(res.headers.get("retry-after"));
      expect(Number.isInteger(retryAfter) && retryAfter > 0 && retryAfter <= 30, `Retry-After ${retryAfter}`).toBe(
        true,
      );
      expectEnvelope(res, 429, "RateLimitExceeded", MSG.rateLimited(retryAfter));
    }
    // Other client ids are not affected.
    const other = await makeIdentity(fx, { role: "member" });
    expect((await login(other.clientId, other.clientSecret)).status).toBe(200);
  });

  it("throttles an unknown client id the same way", async () => {
    const clientId = randomUUID();
    for (let i = 1; i <= 5; i++) expect((await login(clientId, "0".repeat(64))).status).toBe(401);
    const res = await login(clientId, "0".repeat(64));
    expect(res.status).toBe(429);
    expect(res.body.error).toBe("RateLimitExceeded");
    expect(res.headers.get("retry-after")).toMatch(/^\d+$/);
  });

  it("starts counting afresh after a success", async () => {
    const made = await makeIdentity(fx, { role: "member" });
    for (let i = 0; i < 4; i++) expect((await login(made.clientId, "0".repeat(64))).status).toBe(401);
    expect((await login(made.clientId, made.clientSecret)).status).toBe(200);
    for (let i = 0; i < 4; i++) expect((await login(made.clientId, "0".repeat(64))).status).toBe(401);
    expect((await login(made.clientId, made.clientSecret)).status).toBe(200);
  });
});
