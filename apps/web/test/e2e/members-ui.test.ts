// The members page without removing anyone: what each role is offered, keyboard-only use of the
// removal dialog, the table's state kept in the URL, and a phone-sized screen. No test here
// writes, so the demo data is written once for the file.
import { memberOf, orgOf, reseed, testDb } from "@roster/api/testing";
import type { DemoManifest } from "@roster/contract";
import type { Page } from "playwright-core";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { eventually, expectNoBrowserProblems, PHONE, pageWidth, signIn, skipBrowserTests, useBrowser } from "./browser";
import { memberRow, rowCheckbox, shownEmails } from "./members-page";

const WIDTH = PHONE.width;

interface Focused {
  tag: string;
  label: string;
  inDialog: boolean;
  /** Whether the page has focus at all (false while it is in the browser's own UI). */
  pageHasFocus: boolean;
}

const focused = (page: Page): Promise<Focused> =>
  page.evaluate(() => {
    const el = document.activeElement as HTMLElement | null;
    const tag = el?.tagName.toLowerCase() ?? "";
    return {
      tag,
      label: tag === "body" ? "" : (el?.getAttribute("aria-label") || el?.textContent || el?.id || "").trim(),
      inDialog: Boolean(el?.closest("dialog")),
      pageHasFocus: document.hasFocus(),
    };
  });

/** Presses Tab (or Shift+Tab) until the focused element matches; fails after `max` presses. */
async function tabTo(page: Page, match: (f: Focused) => boolean, key = "Tab", max = 60): Promise<Focused> {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press(key);
    const f = await focused(page);
    if (match(f)) return f;
  }
  throw new Error(`no focusable element matched within ${max} presses of ${key}`);
}

/** The member emails the API lists for these parameters, in its order: what the table must show. */
async function listedByApi(manifest: DemoManifest, params: Record<string, unknown>): Promise<string[]> {
  const input = { organizationId: orgOf(manifest, "acme").id, limit: 25, cursor: null, ...params };
  const res = await fetch(
    `${inject("baseUrl")}/api/trpc/organizations.listMemberships?input=${encodeURIComponent(JSON.stringify(input))}`,
    { headers: { authorization: `Bearer ${memberOf(manifest, "acme", "admin@acme.test").accessToken}` } },
  );
  expect(res.status).toBe(200);
  const body = (await res.json()) as {
    result: { data: { items: { user: { email: string } | null; inviteEmail: string | null }[] } };
  };
  return body.result.data.items.map((m) => m.user?.email ?? m.inviteEmail ?? "");
}

// A browser test signs in and loads several pages: on a busy machine that takes longer than the default.
describe.skipIf(skipBrowserTests)("the members page, read only", { timeout: 120_000 }, () => {
  const browser = useBrowser();
  let manifest: DemoManifest;

  beforeAll(async () => {
    manifest = await reseed();
  });

  it("shows a plain member the table without checkboxes or a Remove button", async () => {
    const t = browser.current();
    const { page } = t;
    await signIn(page, "member@acme.test", "/orgs/acme/members");
    const emails = await shownEmails(page);
    expect(emails).toHaveLength(25);
    expect(emails).toEqual(await listedByApi(manifest, { sortBy: "name", sortDir: "asc" }));

    expect(await page.locator("input[type=checkbox]").count()).toBe(0);
    expect(await page.getByRole("button", { name: /^Remove/ }).count()).toBe(0);
    expect(await page.getByTestId("selection-bar").count()).toBe(0);
    // Sorting and paging still work for a reader.
    await page.getByRole("button", { name: "Next" }).click();
    await page.waitForURL((url) => url.searchParams.get("page") === "2");
    await eventually(() => page.getByTestId("page-status").textContent()).toBe("Page 2 of 9");
    expect(await page.locator("input[type=checkbox]").count()).toBe(0);

    expectNoBrowserProblems(t);
  });

  it("stops a member remover at the privilege boundary: the blocker shows and Remove stays disabled", async () => {
    const t = browser.current();
    const { page } = t;
    // by email: the rows it picks are all on the first page
    await signIn(page, "remover@acme.test", "/orgs/acme/members?sort=email");
    await shownEmails(page);

    // Their own row cannot be ticked.
    expect(await rowCheckbox(page, "remover@acme.test").isDisabled()).toBe(true);
    expect(await memberRow(page, "remover@acme.test").locator('[title="You cannot remove yourself"]').count()).toBe(1);

    await rowCheckbox(page, "admin@acme.test").check();
    await rowCheckbox(page, "user001@acme.test").check();
    await eventually(() => page.getByTestId("selection-bar").textContent()).toContain("2 selected");
    await page.getByRole("button", { name: "Remove…" }).click();

    const dialog = page.getByTestId("remove-dialog");
    const blocker = dialog.getByTestId("preview-blocker");
    await blocker.waitFor();
    const admin = memberOf(manifest, "acme", "admin@acme.test");
    expect(await blocker.textContent()).toBe(
      `Failed to remove member ${admin.membershipId} from the organization: your privileges do not cover theirs`,
    );

    const confirm = dialog.getByLabel("Type confirm to remove");
    const submit = dialog.getByRole("button", { name: "Remove 2" });
    expect(await confirm.isDisabled()).toBe(true);
    expect(await submit.isDisabled()).toBe(true);
    // Typing "confirm" (as far as the disabled field lets anyone) changes nothing.
    await confirm.click({ force: true });
    await page.keyboard.type("confirm");
    expect(await confirm.inputValue()).toBe("");
    expect(await submit.isDisabled()).toBe(true);
    expect(await dialog.isVisible()).toBe(true);

    const prisma = await testDb();
    const ids = [admin.membershipId, memberOf(manifest, "acme", "user001@acme.test").membershipId];
    expect(await prisma.orgMembership.count({ where: { id: { in: ids } } })).toBe(2);
    expectNoBrowserProblems(t);
  });

  it("removes nothing when the keyboard-opened dialog is closed with Escape; focus stays in the dialog", async () => {
    const t = browser.current();
    const { page } = t;
    await signIn(page, "admin@acme.test", "/orgs/acme/members?q=user00");
    await eventually(() => shownEmails(page)).toHaveLength(9);

    // Tab to the first member's checkbox, tick it with Space, Tab on to "Remove…", press Enter.
    await page.locator("body").focus();
    await tabTo(page, (f) => f.tag === "input" && f.label.startsWith("Select ") && !f.label.startsWith("Select all"));
    await page.keyboard.press("Space");
    await eventually(() => page.getByTestId("selection-bar").textContent()).toContain("1 selected");
    await tabTo(page, (f) => f.label === "Remove…");
    await page.keyboard.press("Enter");

    const dialog = page.getByTestId("remove-dialog");
    await dialog.getByTestId("preview-summary").waitFor();
    expect((await focused(page)).inDialog).toBe(true);

    // Focus never reaches the page behind the modal dialog, forwards or backwards. (At either end
    // of the dialog the browser may move focus to its own UI, outside the page, as it does for
    // any native modal dialog; the next Tab comes back into the dialog.)
    const seen: Focused[] = [];
    for (const key of [...Array(7).fill("Tab"), ...Array(7).fill("Shift+Tab")] as string[]) {
      await page.keyboard.press(key);
      seen.push(await focused(page));
    }
    expect(seen.filter((f) => !f.inDialog && f.pageHasFocus)).toEqual([]);
    expect(new Set(seen.filter((f) => f.inDialog).map((f) => f.tag))).toEqual(new Set(["input", "button"]));

    // Type the confirmation from the keyboard: the Remove button comes alive.
    await tabTo(page, (f) => f.tag === "input" && f.inDialog);
    await page.keyboard.type("confirm");
    expect(await dialog.getByRole("button", { name: "Remove 1" }).isEnabled()).toBe(true);

    // Escape closes it; nothing was removed and the selection is still there.
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "detached" });
    expect(await page.getByTestId("selection-bar").textContent()).toContain("1 selected");
    const prisma = await testDb();
    expect(await prisma.orgMembership.count({ where: { orgId: orgOf(manifest, "acme").id } })).toBe(220);

    expectNoBrowserProblems(t);
  });

  it("reads search, sort and page from the URL, writes them back, and keeps them across a reload", async () => {
    const t = browser.current();
    const { page } = t;
    await signIn(page, "admin@acme.test", "/orgs/acme/members?q=user01&sort=name&dir=desc&page=1");

    // The state in the URL is the state on screen.
    const byName = await listedByApi(manifest, { search: "user01", sortBy: "name", sortDir: "desc" });
    expect(byName).toHaveLength(10);
    await eventually(() => shownEmails(page)).toEqual(byName);
    expect(await page.locator("#member-search").inputValue()).toBe("user01");
    expect(await page.locator("th", { hasText: "Name" }).getAttribute("aria-sort")).toBe("descending");
    expect(await page.getByTestId("page-status").textContent()).toBe("Page 1 of 1");

    // Changes on screen go into the URL.
    await page.locator("#member-search").fill("user0");
    await page.waitForURL((url) => url.searchParams.get("q") === "user0");
    await page.locator("#status-filter").selectOption("active");
    await page.waitForURL((url) => url.searchParams.get("status") === "active");
    await page.getByRole("button", { name: /^Email/ }).click();
    await page.waitForURL((url) => url.searchParams.get("sort") === "email" && url.searchParams.get("dir") === null);
    await page.getByRole("button", { name: /^Email/ }).click();
    await page.waitForURL((url) => url.searchParams.get("dir") === "desc");
    await page.getByRole("button", { name: "Next" }).click();
    await page.waitForURL((url) => url.searchParams.get("page") === "2");
    const url = new URL(page.url());
    expect(Object.fromEntries(url.searchParams)).toEqual({
      q: "user0",
      status: "active",
      sort: "email",
      dir: "desc",
      page: "2",
    });

    const expected = await listedByApi(manifest, {
      search: "user0",
      status: "active",
      sortBy: "email",
      sortDir: "desc",
      cursor: "25",
    });
    expect(expected[0]).toBe("user074@acme.test");
    await eventually(() => shownEmails(page)).toEqual(expected);
    await eventually(() => page.getByTestId("page-status").textContent()).toBe("Page 2 of 4");

    // A reload shows the same.
    await page.reload();
    await eventually(() => shownEmails(page)).toEqual(expected);
    expect(page.url()).toBe(url.toString());
    expect(await page.locator("#member-search").inputValue()).toBe("user0");
    expect(await page.locator("#status-filter").inputValue()).toBe("active");
    expect(await page.locator("th", { hasText: "Email" }).getAttribute("aria-sort")).toBe("descending");
    expect(await page.getByTestId("page-status").textContent()).toBe("Page 2 of 4");

    expectNoBrowserProblems(t);
  });

  it("sorts by name by default with invites last, says so, and shows invites as Invited rather than their email", async () => {
    const t = browser.current();
    const { page } = t;
    await signIn(page, "admin@acme.test", "/orgs/acme/members");
    const first = await shownEmails(page);
    expect(first).toEqual(await listedByApi(manifest, { sortBy: "name", sortDir: "asc" }));
    const nameHeader = page.locator("th", { hasText: "Name" });
    expect(await nameHeader.getAttribute("aria-sort")).toBe("ascending");
    expect(await nameHeader.textContent()).toContain("↑");
    expect(await page.locator("th", { hasText: "Email" }).getAttribute("aria-sort")).toBe("none");
    expect(await page.getByTestId("sort-status").textContent()).toContain("Sorted by name, A–Z, invites last");
    expect(new URL(page.url()).search).toBe("");

    // The last page ends with the 10 invites, in both directions.
    const invites = orgOf(manifest, "acme").members.filter((m) => m.status === "invited");
    expect(invites).toHaveLength(10);
    for (const dir of ["asc", "desc"] as const) {
      await page.goto(`/orgs/acme/members?${dir === "desc" ? "dir=desc&" : ""}page=9`);
      await eventually(() => page.getByTestId("page-status").textContent()).toBe("Page 9 of 9");
      const last = await listedByApi(manifest, { sortBy: "name", sortDir: dir, cursor: "200" });
      await eventually(() => shownEmails(page)).toEqual(last);
      expect(last.slice(-10).sort()).toEqual(invites.map((m) => m.email).sort());
      expect(last.slice(0, -10).some((e) => e.startsWith("invitee"))).toBe(false);
    }
    expect(await page.getByTestId("sort-status").textContent()).toContain("Sorted by name, Z–A, invites last");
    expect(await nameHeader.getAttribute("aria-sort")).toBe("descending");

    // An invite's name cell says Invited (muted), not its email a second time.
    const invite = memberRow(page, invites[0]?.email ?? "");
    const nameCell = invite.locator("td").nth(1);
    expect((await nameCell.locator("div").first().textContent())?.trim()).toBe("Invited");
    expect(await nameCell.locator("div").first().locator("span").first().getAttribute("class")).toContain(
      "text-zinc-400",
    );
    expect(await invite.locator("td").nth(2).textContent()).toBe(invites[0]?.email);
    expect(await rowCheckbox(page, invites[0]?.email ?? "").getAttribute("aria-label")).toBe(
      `Select ${invites[0]?.email}`,
    );
    expectNoBrowserProblems(t);
  });

  it("keeps the header to two rows at 390px, the signed-in email shown (truncated) and the active sort visible", async () => {
    const t = browser.current();
    const { page } = t;
    await page.setViewportSize(PHONE);
    await signIn(page, "admin@acme.test", "/orgs/acme/members");
    await shownEmails(page);
    const layout = await page.evaluate(() => {
      const header = document.querySelector("header") as HTMLElement;
      const parts = ["a", "select", '[data-testid="viewer-email"]', "nav a", "button"].flatMap((sel) => [
        ...header.querySelectorAll(sel),
      ]);
      const email = header.querySelector('[data-testid="viewer-email"]') as HTMLElement;
      const e = email.getBoundingClientRect();
      return {
        rows: [...new Set(parts.map((el) => el.getBoundingClientRect()).map((r) => Math.round(r.top + r.height / 2)))],
        right: Math.max(...parts.map((el) => el.getBoundingClientRect().right)),
        email: { width: e.width, text: email.textContent, fits: email.scrollWidth <= email.clientWidth },
        signOut: [...header.querySelectorAll("button")].some((b) => b.textContent === "Sign out"),
      };
    });
    // rows: the centers of the header's items, merged when within a few pixels
    const rows = layout.rows.sort((a, b) => a - b).filter((y, i, all) => i === 0 || y - (all[i - 1] as number) > 6);
    expect(rows.length, JSON.stringify(layout)).toBeLessThanOrEqual(2);
    expect(layout.right).toBeLessThanOrEqual(PHONE.width);
    expect(layout.email.text).toBe("admin@acme.test");
    expect(layout.email.fits, JSON.stringify(layout)).toBe(true);
    expect(layout.signOut).toBe(true);
    expect(await pageWidth(page)).toBeLessThanOrEqual(WIDTH);

    const nameHeader = page.locator("th", { hasText: "Name" });
    expect(await nameHeader.isVisible()).toBe(true);
    expect(await nameHeader.getAttribute("aria-sort")).toBe("ascending");
    expect(await page.getByTestId("sort-status").isVisible()).toBe(true);
    expectNoBrowserProblems(t);
  });

  it("fits a 390px screen: sign-in, members and audit pages", async () => {
    const t = browser.current();
    const { page } = t;
    await page.setViewportSize(PHONE);
    await page.goto("/signin");
    expect(await pageWidth(page)).toBeLessThanOrEqual(WIDTH);
    await signIn(page, "admin@acme.test", "/orgs/acme/members");
    await shownEmails(page);
    expect(await pageWidth(page)).toBeLessThanOrEqual(WIDTH);
    await page.getByRole("link", { name: "Audit" }).click();
    await page.getByRole("heading", { name: "Audit" }).waitFor();
    expect(await pageWidth(page)).toBeLessThanOrEqual(WIDTH);
    expectNoBrowserProblems(t);
  });
});
