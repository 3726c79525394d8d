// Sign-in in the browser: a signed-out visitor who opens a page lands on that page after signing
// in, and a callbackUrl that points off the site (in any of the forms browsers read that way)
// lands on the home page instead.
import { reseed } from "@roster/api/testing";
import { DEMO_PASSWORD } from "@roster/db/seed";
import type { Page } from "playwright-core";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { expectNoBrowserProblems, skipBrowserTests, useBrowser } from "./browser";

async function submitCredentials(page: Page, email: string): Promise<void> {
  const submit = page.locator('form button[type="submit"]:enabled');
  await submit.waitFor();
  await page.locator("#email").fill(email);
  await page.locator("#password").fill(DEMO_PASSWORD);
  await submit.click();
}

describe.skipIf(skipBrowserTests)("sign-in in the browser", () => {
  const browser = useBrowser();
  const base = () => new URL(inject("baseUrl"));

  beforeAll(async () => {
    await reseed();
  });

  it("brings a signed-out visitor back to the page asked for", async () => {
    const t = browser.current();
    await t.page.goto("/orgs/acme/members?q=user00");
    await t.page.waitForURL((url) => url.pathname === "/signin");
    expect(new URL(t.page.url()).searchParams.get("callbackUrl")).toBe("/orgs/acme/members?q=user00");
    await submitCredentials(t.page, "admin@acme.test");
    await t.page.waitForURL((url) => url.pathname === "/orgs/acme/members");
    expect(new URL(t.page.url()).search).toBe("?q=user00");
    await t.page.getByTestId("member-row").first().waitFor();
    expectNoBrowserProblems(t);
  });

  it.each([
    "/%5Cevil.example",
    "/%5C%5Cevil.example",
    "%2F%2Fevil.example",
    "/%09/evil.example",
    "https://evil.example/",
  ])("stays on the site for callbackUrl=%s", async (callbackUrl) => {
    const t = browser.current();
    const offSite: string[] = [];
    t.page.on("request", (req) => {
      if (new URL(req.url()).host !== base().host) offSite.push(req.url());
    });
    await t.page.goto(`/signin?callbackUrl=${callbackUrl}`);
    await submitCredentials(t.page, "admin@acme.test");
    await t.page.getByTestId("viewer-email").waitFor();
    const landed = new URL(t.page.url());
    expect(landed.host).toBe(base().host);
    expect(landed.pathname).toBe("/");
    expect(offSite).toEqual([]);
    expectNoBrowserProblems(t);
  });
});
