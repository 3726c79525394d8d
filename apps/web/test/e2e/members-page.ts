// What the browser tests of the members page share: its table's rows as the page shows them,
// the demo data's member emails, and a removal made behind the UI's back through the API.
import { orgOf, tokenOf } from "@roster/api/testing";
import type { DemoManifest } from "@roster/contract";
import type { Locator, Page } from "playwright-core";
import { expect, inject } from "vitest";

/** The members table's rows. */
export const memberRows = (page: Page): Locator => page.getByTestId("member-row");

/** One member's row, by email. */
export const memberRow = (page: Page, email: string): Locator =>
  page.locator(`[data-testid="member-row"][data-email="${email}"]`);

/** A member row's checkbox. */
export const rowCheckbox = (page: Page, email: string): Locator =>
  memberRow(page, email).locator("input[type=checkbox]");

/** Waits until the table shows members (not its loading placeholder) and returns their emails. */
export async function shownEmails(page: Page): Promise<string[]> {
  await memberRows(page).first().waitFor();
  return memberRows(page).evaluateAll((rows) => rows.map((r) => r.getAttribute("data-email") ?? ""));
}

/** A demo user's number as their email spells it: 7 → "007". */
export const pad = (n: number) => String(n).padStart(3, "0");

/** The whole numbers from `from` to `to`, both included. */
export const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/**
 * A removal of acme memberships through the REST API, as `by` (an acme member's email), as
 * another admin would make it while the page is open. It must answer 200; returns the removal's
 * request id, which is its batch id.
 */
export async function removedThroughApi(manifest: DemoManifest, by: string, membershipIds: string[]): Promise<string> {
  const res = await fetch(`${inject("baseUrl")}/api/v2/organizations/${orgOf(manifest, "acme").id}/memberships`, {
    method: "DELETE",
    headers: {
      authorization: `Bearer ${tokenOf(manifest, "acme", by)}`,
      "content-type": "application/json",
    },
    body: JSON.stringify({ membershipIds }),
  });
  expect(res.status).toBe(200);
  return res.headers.get("x-request-id") as string;
}
