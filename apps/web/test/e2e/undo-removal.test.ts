// Undoing a removal in a real browser against the running app: the Undo offered by the toast
// right after a removal (keyboard included), a restore from the Audit page through its preview
// dialog (with a conflict to skip, and an expired batch that offers none), and the remove
// dialog asking for exactly one preview per opening. Every test starts from fresh demo data.
import fs from "node:fs";
import path from "node:path";
import { memberOf, orgOf, reseed, testDb } from "@roster/api/testing";
import type { DemoManifest } from "@roster/contract";
import type { Page } from "playwright-core";
import { beforeEach, describe, expect, inject, it } from "vitest";
import { eventually, expectNoBrowserProblems, failedResource, signIn, skipBrowserTests, useBrowser } from "./browser";
import { memberRow, pad, range, removedThroughApi, rowCheckbox, shownEmails } from "./members-page";

const PREVIEW = "organizations.previewBulkDeleteMemberships";

/** A screenshot of the page as it is now, next to the tests' own (`<artifactsDir>/e2e/`). */
async function snap(page: Page, name: string): Promise<void> {
  const dir = path.join(inject("artifactsDir"), "e2e");
  fs.mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: path.join(dir, `${name}.png`) });
}

/** Ticks the rows of `emails`, opens the remove dialog, waits for its preview (screenshot `shot`) and confirms. */
async function removeInUi(page: Page, emails: string[], shot?: string): Promise<void> {
  for (const email of emails) await rowCheckbox(page, email).check();
  await page.getByRole("button", { name: "Remove…" }).click();
  const dialog = page.getByTestId("remove-dialog");
  await dialog.getByTestId("preview-summary").waitFor();
  if (shot) await snap(page, shot);
  await dialog.getByLabel("Type confirm to remove").fill("confirm");
  await dialog.getByRole("button", { name: `Remove ${emails.length}` }).click();
  await dialog.waitFor({ state: "detached" });
}

// A browser test signs in and loads several pages: on a busy machine that takes longer than the default.
describe.skipIf(skipBrowserTests)("undoing a removal in the browser", { timeout: 120_000 }, () => {
  const browser = useBrowser();
  let manifest: DemoManifest;

  beforeEach(async () => {
    manifest = await reseed();
  });

  const id = (email: string) => memberOf(manifest, "acme", email).membershipId;
  const userId = (email: string) => memberOf(manifest, "acme", email).userId as string;

  /** Every column of the memberships of `emails`, and how many project memberships their users hold. */
  async function rowsOf(emails: string[]) {
    const prisma = await testDb();
    const memberships = await prisma.orgMembership.findMany({
      where: { id: { in: emails.map(id) } },
      orderBy: { id: "asc" },
      omit: { updatedAt: true },
    });
    const projectMemberships = await prisma.projectMembership.count({ where: { userId: { in: emails.map(userId) } } });
    return { memberships, projectMemberships };
  }

  /** A removal through the API, as admin@acme.test: its batch id. */
  const removedByApi = (emails: string[]): Promise<string> =>
    removedThroughApi(manifest, "admin@acme.test", emails.map(id));

  /** `email`'s user joins acme again, as a plain member: what restoring their removal as it was clashes with. */
  async function joinedAgain(email: string): Promise<void> {
    const prisma = await testDb();
    await prisma.orgMembership.create({
      data: { orgId: orgOf(manifest, "acme").id, userId: userId(email), role: "member", status: "accepted" },
    });
  }

  it("removes three members, presses Undo from the keyboard, and the three rows are back", async () => {
    const t = browser.current();
    const { page } = t;
    const nine = range(1, 9).map((i) => `user${pad(i)}@acme.test`);
    const chosen = nine.slice(0, 3);
    const before = await rowsOf(chosen);
    expect(before.memberships).toHaveLength(3);
    expect(before.projectMemberships).toBe(6);

    await signIn(page, "admin@acme.test", "/orgs/acme/members?q=user00&sort=email");
    await eventually(() => shownEmails(page)).toEqual(nine);
    await removeInUi(page, chosen, "remove-dialog");
    expect(await page.getByTestId("remove-dialog").count()).toBe(0);

    // The toast says what went and offers Undo, with the seconds left; the removal happened.
    const toast = page.getByTestId("undo-toast");
    await toast.waitFor();
    expect(await toast.getAttribute("role")).toBe("status");
    expect(await toast.textContent()).toContain("Removed 3 members");
    expect(await toast.getByTestId("undo-countdown").textContent()).toMatch(/^\d{1,2}s$/);
    await eventually(() => shownEmails(page)).toEqual(nine.slice(3));
    expect((await rowsOf(chosen)).memberships).toEqual([]);
    await snap(page, "undo-toast");

    // The dialog and the button that opened it are gone: focus is on Undo, and Enter presses it.
    const undo = toast.getByRole("button", { name: "Undo" });
    expect(await undo.evaluate((el) => el === document.activeElement)).toBe(true);
    await page.keyboard.press("Enter");

    await page.getByRole("status").filter({ hasText: "Restored 3 members" }).waitFor();
    await toast.waitFor({ state: "detached" });
    await eventually(() => shownEmails(page)).toEqual(nine);
    for (const email of chosen) expect(await memberRow(page, email).count()).toBe(1);
    // Back as they were (but updatedAt), with their project memberships.
    expect(await rowsOf(chosen)).toEqual(before);

    // The audit shows the removal as restored, and the restore that did it.
    await page.getByRole("link", { name: "Audit" }).click();
    await page.waitForURL("**/orgs/acme/audit");
    const restore = page.getByTestId("audit-batch").first();
    await restore.waitFor();
    expect(await restore.textContent()).toContain("admin@acme.test restored 3 members");
    const removal = page.getByTestId("audit-batch").nth(1);
    expect(await removal.getByTestId("restored-badge").textContent()).toBe("Restored");
    expect(await removal.getByRole("button", { name: "Restore…" }).count()).toBe(0);

    expectNoBrowserProblems(t);
  });

  it("shows the server's message and request id when the Undo clashes with a change made meanwhile", async () => {
    const t = browser.current();
    const { page } = t;
    await signIn(page, "admin@acme.test", "/orgs/acme/members?q=user01&sort=email");
    await eventually(() => shownEmails(page)).toContain("user012@acme.test");
    await removeInUi(page, ["user012@acme.test"]);
    const toast = page.getByTestId("undo-toast");
    await toast.waitFor();
    // Meanwhile, someone adds the user again.
    await joinedAgain("user012@acme.test");

    await toast.getByRole("button", { name: "Undo" }).click();
    const error = page.getByTestId("toast-error");
    await error.waitFor();
    expect(await error.getAttribute("role")).toBe("alert");
    const text = (await error.textContent()) ?? "";
    expect(text).toMatch(
      /Removal req-[A-Za-z0-9]{14} cannot be restored as it was: 1 conflict\. Nothing was restored\./,
    );
    expect(text).toMatch(/Request ID: req-[A-Za-z0-9]{14}/);
    expect(await error.getByRole("link", { name: "Open the Audit page" }).getAttribute("href")).toBe(
      "/orgs/acme/audit",
    );
    // Nothing was restored: the membership is the new one only.
    const prisma = await testDb();
    expect(await prisma.orgMembership.count({ where: { id: id("user012@acme.test") } })).toBe(0);

    expectNoBrowserProblems(t, [
      failedResource(
        "the browser logs the restore's 409 as a failed resource",
        409,
        "organizations.restoreMemberships",
      ),
    ]);
  });

  it("restores a batch from the Audit page through the preview dialog, skipping a conflict; an expired batch offers none", async () => {
    const t = browser.current();
    const { page } = t;
    const prisma = await testDb();
    const expired = await removedByApi(["user020@acme.test"]);
    await prisma.$executeRaw`UPDATE membership_snapshots SET created_at = now() - interval '8 days' WHERE batch_id = ${expired}`;
    const plain = await removedByApi(["user021@acme.test", "user022@acme.test"]);
    const clashing = await removedByApi(["user023@acme.test", "user024@acme.test", "user025@acme.test"]);
    // user025 joined again since: restoring that batch as it was would clash.
    await joinedAgain("user025@acme.test");

    await signIn(page, "admin@acme.test", "/orgs/acme/audit");
    const card = (batchId: string) => page.locator(`[data-testid="audit-batch"][data-batch-id="${batchId}"]`);
    await card(plain).waitFor();
    expect(await card(expired).getByRole("button", { name: "Restore…" }).count()).toBe(0);
    expect(await card(expired).getByTestId("restored-badge").count()).toBe(0);
    expect(await card(expired).getByTestId("not-restorable").textContent()).toBe("Can no longer be restored");

    // A batch with nothing in its way: the preview, then Restore.
    await card(plain).getByRole("button", { name: "Restore…" }).click();
    const dialog = page.getByTestId("restore-dialog");
    await eventually(() => dialog.getByTestId("restore-summary").textContent()).toMatch(
      /^2 memberships and 4 project memberships will be restored/,
    );
    expect(await dialog.getByTestId("restore-conflicts").count()).toBe(0);
    for (const email of ["user021@acme.test", "user022@acme.test"]) await dialog.getByText(email).waitFor();
    await dialog.getByRole("button", { name: "Restore 2" }).click();
    await page.getByRole("status").filter({ hasText: "Restored 2 members" }).waitFor();
    await dialog.waitFor({ state: "detached" });
    await eventually(() => card(plain).getByTestId("restored-badge").textContent()).toBe("Restored");
    expect(await card(plain).getByRole("button", { name: "Restore…" }).count()).toBe(0);
    expect(
      await prisma.orgMembership.count({ where: { id: { in: [id("user021@acme.test"), id("user022@acme.test")] } } }),
    ).toBe(2);

    // A batch with a conflict: Restore waits for the choice to skip it.
    await card(clashing).getByRole("button", { name: "Restore…" }).click();
    await eventually(() => dialog.getByTestId("restore-summary").textContent()).toMatch(
      /^2 memberships and 4 project memberships will be restored.* 1 conflict would stop the restore\./,
    );
    expect(await dialog.getByTestId("restore-conflicts").textContent()).toBe("user025@acme.test: a member again");
    const submit = dialog.getByRole("button", { name: "Restore 2" });
    expect(await submit.isDisabled()).toBe(true);
    await dialog.getByLabel("Skip the conflicts and restore the rest").check();
    await snap(page, "restore-dialog");
    await submit.click();
    await page.getByRole("status").filter({ hasText: "Restored 2 members; skipped 1 conflict" }).waitFor();
    await eventually(() => card(clashing).getByTestId("restored-badge").textContent()).toBe("Partly restored (2 of 3)");
    expect(
      await prisma.orgMembership.count({ where: { id: { in: [id("user023@acme.test"), id("user024@acme.test")] } } }),
    ).toBe(2);
    // The restores are in the audit too, naming what they undid.
    expect(await page.getByText(`Undid the removal ${plain}`).count()).toBe(1);

    expectNoBrowserProblems(t);
  });

  it("asks for exactly one preview per opening of the remove dialog, whatever happens around it", async () => {
    const t = browser.current();
    const { page } = t;
    let previews = 0;
    page.on("request", (req) => {
      const url = new URL(req.url());
      if (url.pathname.startsWith("/api/trpc/")) {
        previews += url.pathname.split(",").filter((p) => p.endsWith(PREVIEW)).length;
      }
    });

    await signIn(page, "admin@acme.test", "/orgs/acme/members?q=user00&sort=email");
    await eventually(() => shownEmails(page)).toHaveLength(9);
    await removeInUi(page, ["user001@acme.test"]);
    expect(previews).toBe(1);
    const toast = page.getByTestId("undo-toast");
    await toast.waitFor();
    await eventually(() => shownEmails(page)).toHaveLength(8);

    // Opened while the Undo toast counts down: the page around the dialog changes under it (the
    // countdown, the list refreshed, the toast ending), and none of that asks again.
    await rowCheckbox(page, "user002@acme.test").check();
    await rowCheckbox(page, "user003@acme.test").check();
    await page.getByRole("button", { name: "Remove…" }).click();
    const dialog = page.getByTestId("remove-dialog");
    await dialog.getByTestId("preview-summary").waitFor();
    await toast.waitFor({ state: "detached", timeout: 45_000 });
    await dialog.getByLabel("Type confirm to remove").fill("con");
    expect(await dialog.getByTestId("preview-summary").isVisible()).toBe(true);
    expect(previews).toBe(2);

    // Closed and opened again: one more.
    await page.keyboard.press("Escape");
    await dialog.waitFor({ state: "detached" });
    await page.getByRole("button", { name: "Remove…" }).click();
    await dialog.getByTestId("preview-summary").waitFor();
    expect(previews).toBe(3);

    expectNoBrowserProblems(t);
  });
});
