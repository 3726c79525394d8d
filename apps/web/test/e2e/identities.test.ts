// The Identities page in the browser: create an identity, see its client secret once, log in
// with it over REST, revoke the token it got, delete the identity. Plain members see no such page.
import { createHash } from "node:crypto";
import { orgOf, reseed, testDb } from "@roster/api/testing";
import { beforeEach, describe, expect, inject, it } from "vitest";
import { eventually, expectNoBrowserProblems, signIn, skipBrowserTests, useBrowser } from "./browser";

const NAME = "nightly-offboarding";

describe.skipIf(skipBrowserTests)("machine identities in the browser", () => {
  const browser = useBrowser();
  let acmeId: string;

  beforeEach(async () => {
    acmeId = orgOf(await reseed(), "acme").id;
  });

  it("creates an identity, shows its secret once, and the secret logs in; revoking and deleting take effect", async () => {
    const t = browser.current();
    const page = t.page;
    await signIn(page, "admin@acme.test", "/orgs/acme/identities");
    await page.getByRole("link", { name: "Identities" }).waitFor();

    await page.getByRole("button", { name: "New identity" }).click();
    await page.locator("#identity-name").fill(NAME);
    await page.locator("#identity-role").selectOption("member");
    await page.getByRole("button", { name: "Create identity" }).click();
    const card = page.locator(`[data-testid="identity-card"][data-name="${NAME}"]`);
    await card.waitFor();
    const clientId = ((await card.getByTestId("client-id").textContent()) ?? "").trim();
    expect(clientId).toMatch(/^[0-9a-f-]{36}$/);

    await card.getByRole("button", { name: "Create client secret" }).click();
    const secret = ((await card.getByTestId("client-secret-value").textContent()) ?? "").trim();
    expect(secret).toMatch(/^[0-9a-f]{64}$/);
    const prisma = await testDb();
    const stored = await prisma.identityClientSecret.findMany({ where: { identity: { name: NAME } } });
    expect(stored.map((s) => s.secretHash)).toEqual([createHash("sha256").update(secret).digest("hex")]);
    expect(stored[0]?.secretPrefix).toBe(secret.slice(0, 4));

    const login = await fetch(`${inject("baseUrl")}/api/v1/auth/universal-auth/login`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ clientId, clientSecret: secret }),
    });
    expect(login.status).toBe(200);
    const { accessToken } = (await login.json()) as { accessToken: string };
    const list = (token: string) =>
      fetch(`${inject("baseUrl")}/api/v2/organizations/${acmeId}/memberships`, {
        headers: { authorization: `Bearer ${token}` },
      });
    expect((await list(accessToken)).status).toBe(200);

    // Shown once: after a reload the page holds only its prefix.
    await page.reload();
    await card.waitFor();
    expect(await page.content()).not.toContain(secret);
    expect(await card.getByTestId("client-secret-row").count()).toBe(1);
    await card.getByTestId("access-token-row").waitFor();

    await card.getByTestId("access-token-row").getByRole("button", { name: "Revoke" }).click();
    await eventually(() => card.getByTestId("access-token-row").count()).toBe(0);
    expect((await list(accessToken)).status).toBe(401);

    await card.getByLabel(/to delete this identity/).fill(NAME);
    await card.getByRole("button", { name: "Delete identity" }).click();
    await eventually(() => card.count()).toBe(0);
    expect(await prisma.identity.count({ where: { name: NAME } })).toBe(0);
    expectNoBrowserProblems(t);
  });

  it("offers a plain member no Identities page", async () => {
    const t = browser.current();
    await signIn(t.page, "member@acme.test", "/orgs/acme/members");
    expect(await t.page.getByRole("link", { name: "Identities" }).count()).toBe(0);
    await t.page.goto("/orgs/acme/identities");
    // (Next.js keeps an empty alert region of its own for route announcements: look inside <main>.)
    const refusal = t.page.locator("main").getByRole("alert");
    await refusal.waitFor();
    expect(await refusal.textContent()).toContain("You are not allowed to read on identity");
    expectNoBrowserProblems(t, [
      { reason: "the page asks for the list and is refused", match: /403/, url: /\/api\/trpc\// },
    ]);
  });
});
