// What the browser tests share: one Chromium per test file, a fresh context per test, sign-in
// through the real sign-in page, console errors and page errors caught in every test, and a
// screenshot of each test's last screen under `<artifactsDir>/e2e/`.
import fs from "node:fs";
import path from "node:path";
import { DEMO_PASSWORD } from "@roster/db/seed";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { afterAll, afterEach, beforeAll, beforeEach, expect, inject } from "vitest";

export const CHROMIUM_PATH = "/usr/bin/chromium";

const LAUNCH_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

const inCI = process.env.CI === "true";
const haveChromium = fs.existsSync(CHROMIUM_PATH);

/**
 * True when the browser tests cannot run here and may be skipped: no Chromium, outside CI. In CI
 * a missing browser is a failure instead (see `useBrowser`), never a silent skip.
 */
export const skipBrowserTests = !haveChromium && !inCI;

if (skipBrowserTests) {
  console.warn(
    [
      "",
      "!".repeat(78),
      `!!  BROWSER TESTS SKIPPED: no Chromium at ${CHROMIUM_PATH}.`,
      "!!  The end-to-end UI flows were NOT checked. Install Chromium there (Debian: apt-get",
      "!!  install chromium) to run them. In CI (CI=true) a missing browser fails the run.",
      "!".repeat(78),
      "",
    ].join("\n"),
  );
}

/** A console message or page error seen during a test. */
export interface BrowserProblem {
  kind: "console.error" | "console.warning" | "pageerror";
  text: string;
  url?: string;
}

export interface BrowserTest {
  context: BrowserContext;
  page: Page;
  /** Everything that went to the console as an error or warning, and every uncaught page error. */
  problems: BrowserProblem[];
}

export interface BrowserOptions {
  viewport?: { width: number; height: number };
}

const slug = (name: string) =>
  name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "")
    .slice(0, 100);

/**
 * Registers the hooks of a browser test file and returns a handle whose `current()` is the
 * running test's page. Call once at the top of a `describe`.
 */
export function useBrowser(options: BrowserOptions = {}): { current(): BrowserTest } {
  let browser: Browser | undefined;
  let test: BrowserTest | undefined;

  beforeAll(async () => {
    if (!haveChromium) {
      throw new Error(
        `CI=true but there is no Chromium at ${CHROMIUM_PATH}: the browser tests cannot run. Install it (Debian: apt-get install chromium).`,
      );
    }
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, args: LAUNCH_ARGS });
  });

  afterAll(async () => {
    await browser?.close();
  });

  beforeEach(async () => {
    if (!browser) throw new Error("the browser did not start");
    const context = await browser.newContext({
      baseURL: inject("baseUrl"),
      viewport: options.viewport ?? { width: 1280, height: 900 },
      locale: "en-US",
      timezoneId: "UTC",
    });
    context.setDefaultTimeout(10_000);
    context.setDefaultNavigationTimeout(20_000);
    const page = await context.newPage();
    const problems: BrowserProblem[] = [];
    page.on("console", (msg) => {
      const type = msg.type();
      if (type === "error" || type === "warning") {
        problems.push({ kind: `console.${type}`, text: msg.text(), url: msg.location().url });
      }
    });
    page.on("pageerror", (err) => problems.push({ kind: "pageerror", text: String(err.stack ?? err) }));
    test = { context, page, problems };
  });

  afterEach(async (ctx) => {
    const t = test;
    test = undefined;
    if (!t) return;
    try {
      const dir = path.join(inject("artifactsDir"), "e2e");
      fs.mkdirSync(dir, { recursive: true });
      await t.page.screenshot({ path: path.join(dir, `${slug(ctx.task.name)}.png`), fullPage: true });
    } catch (err) {
      console.warn(`[e2e] no screenshot for "${ctx.task.name}": ${String(err)}`);
    } finally {
      await t.context.close();
    }
  });

  return {
    current() {
      if (!test) throw new Error("no browser test is running");
      return test;
    },
  };
}

/** Signs in through the sign-in page and lands on `to` (a path). */
export async function signIn(page: Page, email: string, to: string): Promise<void> {
  await page.goto(`/signin?callbackUrl=${encodeURIComponent(to)}`);
  // The button is enabled once the form is hydrated (before that a submit would not sign in).
  const submit = page.locator('form button[type="submit"]:enabled');
  await submit.waitFor();
  await page.locator("#email").fill(email);
  await page.locator("#password").fill(DEMO_PASSWORD);
  await submit.click();
  const target = new URL(to, "http://x");
  await page.waitForURL((url) => url.pathname === target.pathname);
  await page.getByTestId("viewer-email").waitFor({ state: "attached" });
  expect(await page.getByTestId("viewer-email").textContent()).toBe(email);
}

/** A problem a test provokes on purpose: its text (and, if given, its source URL) must match. */
export interface AllowedProblem {
  reason: string;
  match: RegExp;
  url?: RegExp;
}

/**
 * The console line a browser writes for a request that failed on purpose: `status` from the tRPC
 * procedure `procedure` (e.g. "organizations.restoreMemberships").
 */
export const failedResource = (reason: string, status: number, procedure: string): AllowedProblem => ({
  reason,
  match: new RegExp(`^Failed to load resource: the server responded with a status of ${status}`),
  url: new RegExp(`/api/trpc/${procedure.replaceAll(".", "\\.")}\\b`),
});

const allows = (a: AllowedProblem, p: BrowserProblem) => a.match.test(p.text) && (!a.url || a.url.test(p.url ?? ""));

/**
 * Asserts that nothing went to the console as an error or warning (hydration mismatches
 * included) and no page error was thrown. `allow` lists problems a test provokes on purpose;
 * each must have happened, so an allowance never outlives its reason.
 */
export function expectNoBrowserProblems(t: BrowserTest, allow: AllowedProblem[] = []): void {
  const unexpected = t.problems.filter((p) => !allow.some((a) => allows(a, p)));
  expect(unexpected, "console errors, console warnings or page errors").toEqual([]);
  for (const a of allow) {
    expect(
      t.problems.some((p) => allows(a, p)),
      `allowed problem never happened: ${a.reason}`,
    ).toBe(true);
  }
}

/** `expect.poll` with room for a slow machine: retries `fn` until the assertion holds or 10 s pass. */
export const eventually = <T>(fn: () => T | Promise<T>) => expect.poll(fn, { timeout: 10_000, interval: 100 });

/** A phone-sized viewport (for `page.setViewportSize`). */
export const PHONE = { width: 390, height: 844 } as const;

/** The page's full width, scrolled content included: more than the viewport means sideways scrolling. */
export const pageWidth = (page: Page): Promise<number> => page.evaluate(() => document.documentElement.scrollWidth);
