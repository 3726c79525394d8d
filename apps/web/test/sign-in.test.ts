// Web sign-in through next-auth's own HTTP endpoints on the running app: the credentials callback
// creates a server-side session, sign-out revokes it, and a revoked session's cookie is refused.
import { memberOf, orgOf, reseed, testDb } from "@roster/api/testing";
import type { DemoManifest } from "@roster/contract";
import { DEMO_PASSWORD } from "@roster/db/seed";
import { beforeAll, describe, expect, inject, it } from "vitest";
import {
  csrf as csrfOver,
  type Jar,
  postForm as postFormOver,
  SESSION_COOKIE,
  type SignInOptions,
  signInOver,
} from "./support/web-sign-in";

const PASSWORD = DEMO_PASSWORD;
const base = () => inject("baseUrl");

const csrf = (jar?: Jar) => csrfOver(base(), jar);
const postForm = (path: string, jar: Jar, form: Record<string, string>) => postFormOver(base(), path, jar, form);
const signIn = (email: string, password: string, opts?: SignInOptions) => signInOver(base(), email, password, opts);

async function viewerMe(cookie: string) {
  const res = await fetch(`${base()}/api/trpc/viewer.me`, { headers: { cookie } });
  const body = (await res.json()) as {
    result?: { data: Record<string, unknown> };
    error?: { message: string; data: Record<string, unknown> };
  };
  return { res, body };
}

const getPage = (path: string, cookie?: string) =>
  fetch(`${base()}${path}`, { redirect: "manual", headers: cookie ? { cookie } : {} });

function expectRedirectToSignIn(res: Response) {
  expect([303, 307]).toContain(res.status);
  const location = new URL(res.headers.get("location") ?? "", base());
  expect(location.pathname).toBe("/signin");
}

describe("web sign-in", () => {
  let manifest: DemoManifest;
  const sessionIdsOf = async (userId: string) =>
    new Set(
      (await (await testDb()).authSession.findMany({ where: { userId }, select: { id: true } })).map((s) => s.id),
    );

  beforeAll(async () => {
    manifest = await reseed();
  });

  it("sends a visitor without a cookie to /signin, which answers with HTML", async () => {
    expectRedirectToSignIn(await getPage("/"));
    const page = await getPage("/signin");
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/^text\/html/);
    expect(await page.text()).toContain("Sign in to Roster");
  });

  it.each([
    ["a wrong password", "admin@acme.test", "correct-horse-battery-stapler"],
    ["an unknown email", "nobody@acme.test", PASSWORD],
    ["an empty password", "admin@acme.test", ""],
  ])("refuses %s: no session cookie, no session row", async (_name, email, password) => {
    const prisma = await testDb();
    const before = await prisma.authSession.count();
    const { res, sessionCookie } = await signIn(email, password);
    expect(res.status).toBeLessThan(500);
    expect(sessionCookie).toBeUndefined();
    expect(res.headers.getSetCookie().some((c) => c.startsWith(`${SESSION_COOKIE}=`))).toBe(false);
    expect(await prisma.authSession.count()).toBe(before);
  });

  it("refuses a locked user with the right password", async () => {
    const prisma = await testDb();
    const locked = memberOf(manifest, "acme", "user030@acme.test");
    await prisma.user.update({ where: { id: locked.userId as string }, data: { isLocked: true } });
    const before = await sessionIdsOf(locked.userId as string);
    const { sessionCookie } = await signIn(locked.email, PASSWORD);
    expect(sessionCookie).toBeUndefined();
    expect(await sessionIdsOf(locked.userId as string)).toEqual(before);
  });

  it("signs in, serves the viewer, and signs out for good", async () => {
    const prisma = await testDb();
    const acme = orgOf(manifest, "acme");
    const admin = memberOf(manifest, "acme", "admin@acme.test");
    const userId = admin.userId as string;
    const before = await sessionIdsOf(userId);

    // sign in (the email is matched case-insensitively)
    const { res, jar, sessionCookie } = await signIn("Admin@Acme.test", PASSWORD);
    expect(res.status).toBeLessThan(400);
    expect(sessionCookie).toBeTruthy();
    const setCookie = res.headers.getSetCookie().find((c) => c.startsWith(`${SESSION_COOKIE}=`)) ?? "";
    expect(setCookie).toMatch(/;\s*HttpOnly/i);
    expect(setCookie).toMatch(/;\s*SameSite=Lax/i);

    // one new, live session row for that user
    const created = [...(await sessionIdsOf(userId))].filter((id) => !before.has(id));
    expect(created).toHaveLength(1);
    const row = await prisma.authSession.findUniqueOrThrow({ where: { id: created[0] as string } });
    expect(row.revokedAt).toBeNull();
    expect(row.expiresAt.getTime()).toBeGreaterThan(Date.now());

    // the session cookie is enough for the API and the home page
    const oldCookie = `${SESSION_COOKIE}=${sessionCookie}`;
    const me = await viewerMe(oldCookie);
    expect(me.res.status).toBe(200);
    expect(me.body.result?.data).toMatchObject({
      user: { id: userId, email: "admin@acme.test" },
      organizations: [
        { id: acme.id, slug: "acme", name: "Acme Corp", role: "admin", membershipId: admin.membershipId },
      ],
    });
    const home = await getPage("/", oldCookie);
    expect(home.status).toBe(200);
    expect(await home.text()).toContain("Acme Corp");

    // sign out: the row is revoked
    const { csrfToken } = await csrf(jar);
    const out = await postForm("/api/auth/signout", jar, { csrfToken, callbackUrl: `${base()}/signin`, json: "true" });
    expect(out.status).toBeLessThan(400);
    expect(jar.has(SESSION_COOKIE)).toBe(false);
    const revoked = await prisma.authSession.findUniqueOrThrow({ where: { id: created[0] as string } });
    expect(revoked.revokedAt).not.toBeNull();

    // the old cookie, replayed, is refused by the API and bounced by the page
    const replay = await viewerMe(oldCookie);
    expect(replay.res.status).toBe(401);
    expect(replay.body.error?.message).toBe("User session is stale, please re-authenticate");
    expect(replay.body.error?.data).toMatchObject({ httpStatus: 401, error: "StaleSession" });
    expectRedirectToSignIn(await getPage("/", oldCookie));

    // the admin's API token (another session) is untouched by the web sign-out
    const api = await fetch(`${base()}/api/trpc/viewer.me`, {
      headers: { authorization: `Bearer ${admin.accessToken}` },
    });
    expect(api.status).toBe(200);
  });

  it("sends a signed-out visitor to /signin with the page asked for as callbackUrl", async () => {
    for (const path of ["/orgs/acme/members", "/orgs/acme/members?q=user00&sort=name", "/orgs/acme/identities"]) {
      const res = await getPage(path);
      expectRedirectToSignIn(res);
      const location = new URL(res.headers.get("location") ?? "", base());
      expect(location.searchParams.get("callbackUrl"), path).toBe(path);
    }
    // the home page needs no callbackUrl
    const home = new URL((await getPage("/")).headers.get("location") ?? "", base());
    expect(home.search).toBe("");
  });

  it.each([
    "/\\evil.example",
    "//evil.example",
    "/\t/evil.example",
    "https://evil.example/orgs/acme/members",
    "/.//evil.example",
  ])("keeps next-auth's answer on this site for callbackUrl %j", async (callbackUrl) => {
    const { res, body } = await signIn("admin@acme.test", PASSWORD, { callbackUrl });
    expect(res.status).toBe(200);
    expect(body.url).toBe(`${base()}/`);
  });

  it("keeps a same-site callbackUrl, given as a path or as this site's URL", async () => {
    for (const callbackUrl of ["/orgs/acme/members?q=user00", `${base()}/orgs/acme/members?q=user00`]) {
      const { body } = await signIn("admin@acme.test", PASSWORD, { callbackUrl });
      expect(body.url).toBe(`${base()}/orgs/acme/members?q=user00`);
    }
  });

  it("refuses a session cookie that was not signed with the server's secret", async () => {
    const { res, body } = await viewerMe(`${SESSION_COOKIE}=not-a-real-session`);
    expect(res.status).toBe(401);
    expect(body.error?.data).toMatchObject({ error: "UnauthorizedError" });
    expect(body.error?.message).toBe("Token missing");
    expectRedirectToSignIn(await getPage("/", `${SESSION_COOKIE}=not-a-real-session`));
  });
});
