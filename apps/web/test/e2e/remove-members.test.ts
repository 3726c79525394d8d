// The removal flow in a real browser against the running app: search, select, preview, confirm,
// remove; "select all matching" under a filter and without one; a failure from the server shown
// with its request id while the selection survives; and the same flow on a phone-sized screen.
// Every test starts from freshly written demo data.
import { memberOf, orgOf, REQ_ID_TEXT, reseed, testDb } from "@roster/api/testing";
import type { DemoManifest } from "@roster/contract";
import { beforeEach, describe, expect, it } from "vitest";
import {
  eventually,
  expectNoBrowserProblems,
  failedResource,
  PHONE,
  pageWidth,
  signIn,
  skipBrowserTests,
  useBrowser,
} from "./browser";
import { memberRow, pad, range, removedThroughApi, rowCheckbox, shownEmails } from "./members-page";

describe.skipIf(skipBrowserTests)("removing members in the browser", () => {
  const browser = useBrowser();
  let manifest: DemoManifest;

  beforeEach(async () => {
    manifest = await reseed();
  });

  const acmeIds = async () => {
    const prisma = await testDb();
    const rows = await prisma.orgMembership.findMany({
      where: { orgId: orgOf(manifest, "acme").id },
      select: { id: true },
    });
    return new Set(rows.map((r) => r.id));
  };

  /** Asserts that exactly `removed` (emails) left acme, and every other acme membership stayed. */
  async function expectOnlyRemoved(removed: string[]) {
    const acme = orgOf(manifest, "acme");
    const gone = new Set(removed.map((email) => memberOf(manifest, "acme", email).membershipId));
    const left = await acmeIds();
    expect(left.size).toBe(acme.members.length - removed.length);
    for (const m of acme.members) expect(left.has(m.membershipId), m.email).toBe(!gone.has(m.membershipId));
  }

  it("admin searches, selects three members, removes them, and finds the batch in the audit", async () => {
    const t = browser.current();
    const { page } = t;
    await signIn(page, "admin@acme.test", "/orgs/acme/members?sort=email");

    await page.locator("#member-search").fill("user00");
    await page.waitForURL((url) => url.searchParams.get("q") === "user00");
    const nine = range(1, 9).map((i) => `user${pad(i)}@acme.test`);
    await eventually(() => shownEmails(page)).toEqual(nine);

    const chosen = ["user001@acme.test", "user002@acme.test", "user003@acme.test"];
    for (const email of chosen) await rowCheckbox(page, email).check();
    await eventually(() => page.getByTestId("selection-bar").textContent()).toContain("3 selected");

    await page.getByRole("button", { name: "Remove…" }).click();
    const dialog = page.getByTestId("remove-dialog");
    await eventually(() => dialog.getByTestId("preview-summary").textContent()).toMatch(
      /^3 memberships and 6 project memberships will be removed\./,
    );
    for (const email of chosen) expect(await dialog.getByText(email).count()).toBe(1);
    const submit = dialog.getByRole("button", { name: "Remove 3" });
    expect(await submit.isDisabled()).toBe(true);
    await dialog.getByLabel("Type confirm to remove").fill("confirm");
    await submit.click();

    await page.getByRole("status").filter({ hasText: "Removed 3 members" }).waitFor();
    await dialog.waitFor({ state: "detached" });
    await page.getByTestId("selection-bar").waitFor({ state: "detached" });
    await eventually(() => shownEmails(page)).toEqual(nine.slice(3));
    for (const email of chosen) expect(await memberRow(page, email).count()).toBe(0);
    await expectOnlyRemoved(chosen);

    // The audit page shows the batch, attributed to the admin.
    const prisma = await testDb();
    const events = await prisma.auditEvent.findMany({
      where: { targetId: { in: chosen.map((e) => memberOf(manifest, "acme", e).membershipId) } },
      select: { batchId: true },
    });
    expect(events).toHaveLength(3);
    const batchId = events[0]?.batchId as string;
    expect(new Set(events.map((e) => e.batchId))).toEqual(new Set([batchId]));

    await page.getByRole("link", { name: "Audit" }).click();
    await page.waitForURL("**/orgs/acme/audit");
    const batch = page.getByTestId("audit-batch").first();
    await batch.waitFor();
    expect(await batch.getAttribute("data-batch-id")).toBe(batchId);
    expect(await batch.textContent()).toContain("admin@acme.test removed 3 members");
    await batch.locator("summary").click();
    for (const email of chosen) await batch.getByText(email).waitFor();

    expectNoBrowserProblems(t);
  });

  it("removes exactly a filtered set when the page holds all of it (status=inactive)", async () => {
    const t = browser.current();
    const { page } = t;
    await signIn(page, "admin@acme.test", "/orgs/acme/members?status=inactive");
    expect(await page.locator("#status-filter").inputValue()).toBe("inactive");

    const inactive = range(1, 5).map((i) => `inactive0${i}@acme.test`);
    await eventually(() => shownEmails(page)).toEqual(inactive);
    await page.getByLabel("Select all members on this page").check();
    await eventually(() => page.getByTestId("selection-bar").textContent()).toContain("5 selected");
    for (const email of inactive) expect(await rowCheckbox(page, email).isChecked()).toBe(true);
    // The page already holds every match: no "select all matching" offer.
    expect(await page.getByRole("button", { name: /^Select all .* matching$/ }).count()).toBe(0);

    await page.getByRole("button", { name: "Remove…" }).click();
    const dialog = page.getByTestId("remove-dialog");
    await eventually(() => dialog.getByTestId("preview-summary").textContent()).toMatch(/^5 memberships and /);
    for (const email of inactive) expect(await dialog.getByText(email).count()).toBe(1);
    await dialog.getByLabel("Type confirm to remove").fill("confirm");
    await dialog.getByRole("button", { name: "Remove 5" }).click();
    await page.getByRole("status").filter({ hasText: "Removed 5 members" }).waitFor();
    await page.getByText("No members match.").waitFor();

    await expectOnlyRemoved(inactive);
    expectNoBrowserProblems(t);
  });

  it("selects all matching across pages under a search and removes exactly those", async () => {
    const t = browser.current();
    const { page } = t;
    // user100 … user199: four pages of 25.
    await signIn(page, "admin@acme.test", "/orgs/acme/members?q=user1&sort=email");
    await eventually(() => page.getByTestId("page-status").textContent()).toBe("Page 1 of 4");
    await eventually(() => shownEmails(page)).toEqual(range(100, 124).map((i) => `user${i}@acme.test`));

    await page.getByLabel("Select all members on this page").check();
    await eventually(() => page.getByTestId("selection-bar").textContent()).toContain("25 selected");
    await page.getByRole("button", { name: "Select all 100 matching" }).click();
    await eventually(() => page.getByTestId("selection-notice").textContent()).toBe(
      "Selected all 100 matching members.",
    );
    await eventually(() => page.getByTestId("selection-bar").textContent()).toContain("100 selected");
    expect(await page.getByRole("button", { name: /^Select all .* matching$/ }).count()).toBe(0);

    await page.getByRole("button", { name: "Remove…" }).click();
    const dialog = page.getByTestId("remove-dialog");
    await eventually(() => dialog.getByTestId("preview-summary").textContent()).toMatch(
      /^100 memberships and 200 project memberships will be removed\./,
    );
    await dialog.getByLabel("Type confirm to remove").fill("confirm");
    await dialog.getByRole("button", { name: "Remove 100" }).click();
    await page.getByRole("status").filter({ hasText: "Removed 100 members" }).waitFor();
    await page.getByText("No members match “user1”.").waitFor();

    await expectOnlyRemoved(range(100, 199).map((i) => `user${i}@acme.test`));
    expectNoBrowserProblems(t);
  });

  it("selects all 220 matching as 219: never the admin's own row, which cannot be ticked either", async () => {
    const t = browser.current();
    const { page } = t;
    await signIn(page, "admin@acme.test", "/orgs/acme/members?sort=email");
    await eventually(() => page.getByTestId("page-status").textContent()).toBe("Page 1 of 9");
    expect(await page.getByText("220 matching").count()).toBe(1);

    const own = rowCheckbox(page, "admin@acme.test");
    expect(await own.isDisabled()).toBe(true);
    expect(await memberRow(page, "admin@acme.test").locator('[title="You cannot remove yourself"]').count()).toBe(1);

    await page.getByLabel("Select all members on this page").check();
    await eventually(() => page.getByTestId("selection-bar").textContent()).toContain("24 selected");
    expect(await own.isChecked()).toBe(false);
    await page.getByRole("button", { name: "Select all 220 matching" }).click();
    await eventually(() => page.getByTestId("selection-bar").textContent()).toContain("219 selected");
    expect(await page.getByTestId("selection-notice").textContent()).toBe(
      "Selected 219 of 220 matching members: you cannot remove yourself.",
    );
    expect(await page.getByRole("button", { name: /^Select all .* matching$/ }).count()).toBe(0);
    expect(await own.isChecked()).toBe(false);

    await page.getByRole("button", { name: "Remove…" }).click();
    const dialog = page.getByTestId("remove-dialog");
    await eventually(() => dialog.getByTestId("preview-summary").textContent()).toMatch(/^219 memberships and /);
    expect(await dialog.getByTestId("preview-blocker").count()).toBe(0);
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "detached" });
    await eventually(() => page.getByTestId("selection-bar").textContent()).toContain("219 selected");

    expect((await acmeIds()).size).toBe(220);
    expectNoBrowserProblems(t);
  });

  it("shows a failed removal's message and request id, and keeps the selection", async () => {
    const t = browser.current();
    const { page } = t;
    const acme = orgOf(manifest, "acme");
    const target = memberOf(manifest, "acme", "user010@acme.test");
    await signIn(page, "admin@acme.test", "/orgs/acme/members?q=user010");
    await eventually(() => shownEmails(page)).toEqual(["user010@acme.test"]);
    await rowCheckbox(page, "user010@acme.test").check();
    await page.getByRole("button", { name: "Remove…" }).click();
    const dialog = page.getByTestId("remove-dialog");
    await eventually(() => dialog.getByTestId("preview-summary").textContent()).toMatch(/^1 membership and /);

    // Behind the UI's back, after its preview: another admin removes that member through the API.
    await removedThroughApi(manifest, "admin2@acme.test", [target.membershipId]);

    await dialog.getByLabel("Type confirm to remove").fill("confirm");
    await dialog.getByRole("button", { name: "Remove 1" }).click();
    const error = dialog.getByTestId("remove-error");
    await error.waitFor();
    const text = (await error.textContent()) ?? "";
    expect(text).toContain(`Memberships not found in organization ${acme.id}: ${target.membershipId}`);
    expect(text).toMatch(new RegExp(`Request ID: ${REQ_ID_TEXT}$`));

    // The dialog stays open, no success toast, and the selection is kept.
    expect(await dialog.isVisible()).toBe(true);
    expect(await page.getByRole("status").filter({ hasText: "Removed" }).count()).toBe(0);
    await dialog.getByRole("button", { name: "Cancel" }).click();
    await dialog.waitFor({ state: "detached" });
    expect(await page.getByTestId("selection-bar").textContent()).toContain("1 selected");

    // Opened again on the kept selection, the preview now says why it cannot go ahead.
    await page.getByRole("button", { name: "Remove…" }).click();
    const blocker = dialog.getByTestId("preview-blocker");
    await blocker.waitFor();
    expect(await blocker.textContent()).toContain(`Memberships not found in organization ${acme.id}`);
    expect(await dialog.getByLabel("Type confirm to remove").isDisabled()).toBe(true);

    expectNoBrowserProblems(t, [
      failedResource(
        "the browser logs the deliberately provoked 404 of the removal request as a failed resource",
        404,
        "organizations.bulkDeleteMemberships",
      ),
    ]);
  });

  it("selects and removes on a 390px screen without sideways scrolling", async () => {
    const t = browser.current();
    const { page } = t;
    await page.setViewportSize(PHONE);
    const WIDTH = PHONE.width;
    await signIn(page, "admin@acme.test", "/orgs/acme/members?sort=email");
    await shownEmails(page);
    expect(await pageWidth(page)).toBeLessThanOrEqual(WIDTH);

    const chosen = ["user001@acme.test", "user002@acme.test"];
    for (const email of chosen) await rowCheckbox(page, email).check();
    const bar = page.getByTestId("selection-bar");
    await eventually(() => bar.textContent()).toContain("2 selected");
    const box = await bar.boundingBox();
    expect(box && box.x >= 0 && box.x + box.width <= WIDTH).toBe(true);
    expect(await pageWidth(page)).toBeLessThanOrEqual(WIDTH);

    await page.getByRole("button", { name: "Remove…" }).click();
    const dialog = page.getByTestId("remove-dialog");
    await eventually(() => dialog.getByTestId("preview-summary").textContent()).toMatch(
      /^2 memberships and 4 project memberships will be removed\./,
    );
    const dialogBox = await dialog.boundingBox();
    expect(dialogBox && dialogBox.x >= 0 && dialogBox.x + dialogBox.width <= WIDTH).toBe(true);
    expect(await pageWidth(page)).toBeLessThanOrEqual(WIDTH);
    await dialog.getByLabel("Type confirm to remove").fill("confirm");
    await dialog.getByRole("button", { name: "Remove 2" }).click();

    await page.getByRole("status").filter({ hasText: "Removed 2 members" }).waitFor();
    await bar.waitFor({ state: "detached" });
    await eventually(async () => (await shownEmails(page)).filter((e) => chosen.includes(e))).toEqual([]);
    const prisma = await testDb();
    const ids = chosen.map((e) => memberOf(manifest, "acme", e).membershipId);
    expect(await prisma.orgMembership.count({ where: { id: { in: ids } } })).toBe(0);
    expect(await pageWidth(page)).toBeLessThanOrEqual(WIDTH);

    expectNoBrowserProblems(t);
  });
});
