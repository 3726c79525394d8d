// The security headers over HTTP, on pages, API routes and assets alike: nosniff, a same-origin
// referrer policy, HSTS only when the public URL is https, and a Content-Security-Policy that
// forbids framing: on pages and assets it runs only scripts carrying the request's nonce, on API
// routes (data, never a document) it allows nothing at all.
import { baseUrl } from "@roster/api/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startExtraServer } from "./support/extra-server";

const ORG = "00000000-0000-4000-8000-000000000000";
const PAGES = [
  "/signin",
  "/",
  "/orgs/acme/members",
  "/docs",
  "/docs/scalar.js",
  "/no-such-page",
  "/apinot/a/route",
  // Next matches routes on the path as sent: encoded, this is no API route but a page (404).
  "/%61pi/health",
  // The sign-in library's routes render pages of their own (with inline styles): the pages' policy.
  "/api/auth/session",
  "/api/auth/error",
  "/api/auth/signout",
];
const API = [
  "/api/health",
  "/api/openapi.json",
  `/api/v2/organizations/${ORG}/memberships`,
  "/api/trpc/viewer.me",
  "/api/v1/auth/universal-auth/login",
  "/api/no-such-route",
];

/** The policy's directives by name. */
function directives(policy: string | null): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const part of (policy ?? "").split(";")) {
    const [name, ...values] = part.trim().split(/\s+/);
    if (name) out.set(name.toLowerCase(), values);
  }
  return out;
}

const nonceOf = (policy: string | null) => /'nonce-([A-Za-z0-9+/=]+)'/.exec(policy ?? "")?.[1];

async function get(url: string): Promise<Response> {
  return fetch(url, { redirect: "manual" });
}

/** The headers every response carries, whatever its policy. */
function expectCommonHeaders(res: Response): void {
  expect(res.headers.get("x-content-type-options")).toBe("nosniff");
  expect(res.headers.get("referrer-policy")).toBe("same-origin");
  // The test server's public URL is http: no HSTS.
  expect(res.headers.get("strict-transport-security")).toBeNull();
  // One policy, not two joined (a proxy's and the server's).
  expect(res.headers.get("content-security-policy")).not.toContain(",");
}

describe("security headers", () => {
  it.each(PAGES)("are on %s", async (path) => {
    const res = await get(`${baseUrl()}${path}`);
    await res.arrayBuffer();
    expectCommonHeaders(res);
    const policy = res.headers.get("content-security-policy");
    const d = directives(policy);
    expect(d.get("frame-ancestors")).toEqual(["'none'"]);
    expect(d.get("object-src")).toEqual(["'none'"]);
    expect(d.get("default-src")).toEqual(["'self'"]);
    expect(d.get("base-uri")).toEqual(["'self'"]);
    const scripts = d.get("script-src") ?? [];
    expect(scripts).toContain("'strict-dynamic'");
    expect(scripts).toContain(`'nonce-${nonceOf(policy)}'`);
    // No inline script runs without the nonce anywhere, and nothing may call eval.
    expect(scripts.filter((s) => s.startsWith("'unsafe-"))).toEqual([]);
    expect(d.has("upgrade-insecure-requests")).toBe(false);
  });

  it.each(API)("are on the API route %s, with a policy that allows nothing", async (path) => {
    const res = await get(`${baseUrl()}${path}`);
    await res.arrayBuffer();
    expectCommonHeaders(res);
    const d = directives(res.headers.get("content-security-policy"));
    expect(d.get("default-src")).toEqual(["'none'"]);
    expect(d.get("frame-ancestors")).toEqual(["'none'"]);
    // Nothing else: no script, style or connection is allowed by a directive of its own.
    expect([...d.keys()].sort()).toEqual(["default-src", "frame-ancestors"]);
  });

  it.each(["/api/auth/signout", "/api/auth/error"])(
    "let the sign-in library's own page %s show with its inline styles",
    async (path) => {
      const res = await get(`${baseUrl()}${path}`);
      const html = await res.text();
      expect(html).toMatch(/<style\b/);
      expect(directives(res.headers.get("content-security-policy")).get("style-src")).toContain("'unsafe-inline'");
    },
  );

  it("keep the API's policy on answers a route writes itself (a 401, a 429, a streamed body)", async () => {
    const refused = await fetch(`${baseUrl()}/api/v2/organizations/${ORG}/memberships`, {
      method: "DELETE",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ membershipIds: [ORG] }),
    });
    await refused.arrayBuffer();
    expect(refused.status).toBe(401);
    expect(refused.headers.get("content-security-policy")).toBe("default-src 'none'; frame-ancestors 'none'");
    expect(refused.headers.get("x-content-type-options")).toBe("nosniff");
  });

  it("give every response a fresh nonce, and every script of a page carries it", async () => {
    const nonces = new Set<string>();
    for (const path of ["/signin", "/signin", "/docs", "/docs"]) {
      const res = await get(`${baseUrl()}${path}`);
      expect(res.status).toBe(200);
      const nonce = nonceOf(res.headers.get("content-security-policy"));
      expect(nonce).toMatch(/^[A-Za-z0-9+/]{22}==$/);
      nonces.add(nonce as string);
      const html = await res.text();
      const scripts = html.match(/<script\b[^>]*>/g) ?? [];
      // The API reference is rendered on the server with no script at all; the pages have Next's.
      if (path === "/docs") expect(scripts).toEqual([]);
      else expect(scripts.length).toBeGreaterThan(0);
      for (const tag of scripts) expect(tag, `${path}: ${tag}`).toContain(`nonce="${nonce}"`);
    }
    expect(nonces.size).toBe(4);
  });
});

describe("security headers behind an https public URL", () => {
  let url: string;
  let stop: () => Promise<unknown>;

  beforeAll(async () => {
    const server = await startExtraServer({ NEXTAUTH_URL: "https://roster.example.test" });
    url = server.url;
    stop = server.stop;
  });

  afterAll(async () => {
    await stop?.();
  });

  it("include HSTS and upgrade-insecure-requests on pages", async () => {
    const res = await get(`${url}/signin`);
    await res.arrayBuffer();
    expect(res.headers.get("strict-transport-security")).toBe("max-age=31536000");
    const d = directives(res.headers.get("content-security-policy"));
    expect(d.has("upgrade-insecure-requests")).toBe(true);
    expect(d.get("frame-ancestors")).toEqual(["'none'"]);
  });

  it.each(["/api/health", `/api/v2/organizations/${ORG}/memberships`])(
    "include HSTS on the API route %s",
    async (path) => {
      const res = await get(`${url}${path}`);
      await res.arrayBuffer();
      expect(res.headers.get("strict-transport-security")).toBe("max-age=31536000");
      const d = directives(res.headers.get("content-security-policy"));
      expect(d.get("default-src")).toEqual(["'none'"]);
      expect(d.get("frame-ancestors")).toEqual(["'none'"]);
    },
  );
});
