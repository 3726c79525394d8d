// Where sign-in may send the browser afterwards: same-origin paths only. Each hostile form below
// leaves the site in a browser when taken as is (backslashes read as slashes, tabs and newlines
// dropped, protocol-relative and absolute URLs); the browser itself is driven in e2e/sign-in.test.ts.
import { describe, expect, it } from "vitest";
import { safeCallbackPath } from "../src/lib/safe-callback";

const OWN = "https://roster.example.com";

describe("safeCallbackPath", () => {
  it.each([
    ["/orgs/acme/members", "/orgs/acme/members"],
    ["/orgs/acme/members?q=user00&sort=name#top", "/orgs/acme/members?q=user00&sort=name#top"],
    ["/", "/"],
    ["/orgs/../orgs/acme/members", "/orgs/acme/members"],
    ["/%5Cevil.example", "/%5Cevil.example"],
    [`${OWN}/orgs/acme/members?q=a`, "/orgs/acme/members?q=a"],
  ])("keeps %j as %j", (raw, expected) => {
    expect(safeCallbackPath(raw, OWN)).toBe(expected);
  });

  it.each([
    "/\\evil.example",
    "\\/evil.example",
    "/\\/evil.example",
    "//evil.example",
    "///evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/.//evil.example",
    "https://evil.example/",
    "http://roster.example.com.evil.example/",
    "https://roster.example.com@evil.example/",
    "javascript:alert(1)",
    "evil.example",
    "",
    `/${"a".repeat(3000)}`,
  ])("turns %j into /", (raw) => {
    expect(safeCallbackPath(raw, OWN)).toBe("/");
  });

  it("takes no absolute URL without a known origin, and nothing that is not a string", () => {
    expect(safeCallbackPath(`${OWN}/orgs/acme/members`)).toBe("/");
    expect(safeCallbackPath(undefined, OWN)).toBe("/");
    expect(safeCallbackPath(["/orgs/acme/members"], OWN)).toBe("/");
  });
});
