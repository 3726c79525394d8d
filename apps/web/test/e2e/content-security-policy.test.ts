// Every page under the Content-Security-Policy the server sends: nothing is refused (no
// `securitypolicyviolation` event, no console error), and each page still works, which shows that
// its scripts ran. And the policy's point: no other page may frame Roster.
import { memberOf, reseed } from "@roster/api/testing";
import type { Page } from "playwright-core";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { eventually, expectNoBrowserProblems, signIn, skipBrowserTests, useBrowser } from "./browser";
import { removedThroughApi, shownEmails } from "./members-page";

interface Violation {
  page: string;
  directive: string;
  blocked: string;
  sample: string;
}

/** Records every CSP violation of every document the page loads, from before its first script. */
async function watchViolations(page: Page): Promise<Violation[]> {
  const seen: Violation[] = [];
  await page.exposeFunction("__rosterCspViolation", (v: Violation) => {
    seen.push(v);
  });
  await page.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) => {
      (window as unknown as { __rosterCspViolation(v: unknown): void }).__rosterCspViolation({
        page: location.pathname,
        directive: e.effectiveDirective,
        blocked: e.blockedURI,
        sample: e.sample,
      });
    });
  });
  return seen;
}

describe.skipIf(skipBrowserTests)("the Content-Security-Policy in the browser", () => {
  const browser = useBrowser();

  beforeAll(async () => {
    const manifest = await reseed();
    // One removal, so that the audit page has a batch to show.
    await removedThroughApi(manifest, "admin@acme.test", [
      memberOf(manifest, "acme", "user001@acme.test").membershipId,
    ]);
  });

  it("refuses nothing on the sign-in, home and members pages, and they work", async () => {
    const t = browser.current();
    const { page } = t;
    const violations = await watchViolations(page);
    // The sign-in form is enabled only once its scripts ran (hydrated).
    await signIn(page, "admin@acme.test", "/");
    await page.goto("/orgs/acme/members");
    // The table fills in from the browser (its scripts ran); a busy machine may take a while.
    await page.getByTestId("member-row").first().waitFor({ timeout: 30_000 });
    expect(await shownEmails(page)).toHaveLength(25);
    expect(violations).toEqual([]);
    expectNoBrowserProblems(t);
  }, 90_000);

  it("refuses nothing on the audit and identities pages, and they work", async () => {
    const t = browser.current();
    const { page } = t;
    const violations = await watchViolations(page);
    await signIn(page, "admin@acme.test", "/orgs/acme/audit");
    await page.getByTestId("audit-batch").first().waitFor();
    await page.goto("/orgs/acme/identities");
    await page.getByTestId("identity-card").first().waitFor();
    expect(violations).toEqual([]);
    expectNoBrowserProblems(t);
  }, 90_000);

  it("refuses nothing on the API reference, which renders the document", async () => {
    const t = browser.current();
    const { page } = t;
    const violations = await watchViolations(page);
    await page.goto("/docs", { waitUntil: "domcontentloaded", timeout: 60_000 });
    await page.getByText("Remove organization members safely").first().waitFor({ timeout: 60_000 });
    await page.getByText("/api/v1/auth/universal-auth/login").first().waitFor();
    expect(violations).toEqual([]);
    expectNoBrowserProblems(t);
  }, 90_000);

  it("refuses nothing on the not-found page", async () => {
    const t = browser.current();
    const { page } = t;
    const violations = await watchViolations(page);
    const res = await page.goto("/no-such-page");
    expect(res?.status()).toBe(404);
    await page.getByText("404").first().waitFor();
    expect(violations).toEqual([]);
    // The browser reports the 404 status itself, and nothing else.
    expect(t.problems.filter((p) => !/status of 404/.test(p.text))).toEqual([]);
  }, 90_000);

  it("cannot be framed by another page", async () => {
    const t = browser.current();
    const { page } = t;
    const target = `${inject("baseUrl")}/signin`;
    await page.setContent(`<iframe id="roster" src="${target}" width="600" height="400"></iframe>`);
    const frameElement = await page.waitForSelector("#roster");
    await eventually(() => t.problems.some((p) => /frame-ancestors 'none'/.test(p.text))).toBe(true);
    const frame = await frameElement.contentFrame();
    expect(await frame?.locator("#email").count()).toBe(0);
    expectNoBrowserProblems(t, [{ reason: "the frame is refused", match: /frame-ancestors 'none'/ }]);
  });
});
