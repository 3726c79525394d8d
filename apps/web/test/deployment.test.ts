// What an operator meets: production never seeds (it says how to create the first organization),
// `npm run admin:create` makes a working admin, and `npm run db:seed` erases nothing it should not.
// Each scenario runs the real entry points as child processes on a database of the run's kind.
import { randomBytes } from "node:crypto";
import { type Finished, testDb } from "@roster/api/testing";
import { freePort } from "@roster/config/net";
import { DEMO_PASSWORD } from "@roster/db/seed";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type FreshDatabase,
  freshDatabase,
  runOnTerminal,
  runScript,
  type Started,
  startRosterProcess,
} from "./support/fresh-database";

const FIRST_ADMIN_LINE = "npm run admin:create -- --email <e> --org <slug>";
// Each step starts Node processes; on a busy machine one takes tens of seconds.
const SLOW = 600_000;
const authSecret = randomBytes(48).toString("base64url");

const adminCreate = (args: string[], env: Record<string, string | undefined>) =>
  runScript("packages/api/src/cli/admin-create.ts", args, env);
const dbSeed = (args: string[], env: Record<string, string | undefined>) =>
  runScript("packages/api/src/cli/seed.ts", args, env);

function expectRefused(run: Finished, message: string | RegExp): void {
  expect(run.code).toBe(1);
  expect(run.stderr).toMatch(message);
}

async function counts(db: FreshDatabase) {
  const handle = await db.open();
  try {
    const [users, organizations, memberships] = await Promise.all([
      handle.prisma.user.count(),
      handle.prisma.organization.count(),
      handle.prisma.orgMembership.count(),
    ]);
    return { users, organizations, memberships };
  } finally {
    await handle.close();
  }
}

/** Password sign-in through next-auth's credentials callback: true when a session cookie is set. */
async function signsIn(base: string, email: string, password: string): Promise<boolean> {
  const csrf = await fetch(`${base}/api/auth/csrf`);
  const { csrfToken } = (await csrf.json()) as { csrfToken: string };
  const cookie = csrf.headers
    .getSetCookie()
    .map((c) => c.split(";")[0])
    .join("; ");
  const res = await fetch(`${base}/api/auth/callback/credentials`, {
    method: "POST",
    redirect: "manual",
    headers: { "content-type": "application/x-www-form-urlencoded", cookie },
    body: new URLSearchParams({ csrfToken, email, password, callbackUrl: `${base}/`, json: "true" }).toString(),
  });
  return res.headers.getSetCookie().some((c) => /session-token=[^;]+/.test(c));
}

describe("production start on an empty database, then the first admin", () => {
  let db: FreshDatabase;
  let roster: Started | undefined;
  let base: string;
  const production = () => ({ ...db.env, NODE_ENV: "production", AUTH_SECRET: authSecret });

  beforeAll(async () => {
    db = await freshDatabase();
    const port = await freePort();
    base = `http://localhost:${port}`;
    roster = await startRosterProcess({ ...production(), PORT: String(port), NEXTAUTH_URL: base });
  }, SLOW);

  afterAll(async () => {
    await roster?.stop();
    await db?.drop();
  }, SLOW);

  it("migrates, seeds nothing, and says in one line how to create the first organization", async () => {
    const output = roster?.output() ?? "";
    expect(output.split("\n").filter((line) => line.includes(FIRST_ADMIN_LINE))).toHaveLength(1);
    expect(output).not.toContain("Seeded the demo data");
    expect(output).not.toContain(DEMO_PASSWORD);
    expect(await counts(db)).toEqual({ users: 0, organizations: 0, memberships: 0 });
  });

  it(
    "admin:create makes an admin who can sign in, while the server runs, and refuses a second organization of that slug",
    async () => {
      const password = `first-admin-${randomBytes(8).toString("hex")}`;
      const created = await adminCreate(["--email", " Ops@Example.COM ", "--org", "first", "--name", "First Org"], {
        ...production(),
        ROSTER_ADMIN_PASSWORD: password,
      });
      expect(created.stderr).toContain("Created the organization first");
      expect(created.code).toBe(0);
      expect(created.stdout + created.stderr).not.toContain(password);

      const handle = await db.open();
      try {
        const membership = await handle.prisma.orgMembership.findFirstOrThrow({
          select: { role: true, status: true, isActive: true, org: { select: { slug: true, name: true } } },
          where: { user: { email: "ops@example.com" } },
        });
        expect(membership).toEqual({
          role: "admin",
          status: "accepted",
          isActive: true,
          org: { slug: "first", name: "First Org" },
        });
        const user = await handle.prisma.user.findUniqueOrThrow({ where: { email: "ops@example.com" } });
        expect(user.passwordHash).toMatch(/^\$argon2id\$/);
      } finally {
        await handle.close();
      }
      expect(await signsIn(base, "ops@example.com", password)).toBe(true);
      expect(await signsIn(base, "ops@example.com", `${password}x`)).toBe(false);

      const before = await counts(db);
      expectRefused(
        await adminCreate(["--email", "someone@example.com", "--org", "first"], {
          ...production(),
          ROSTER_ADMIN_PASSWORD: password,
        }),
        "An organization with the slug first already exists; nothing was changed",
      );
      expect(await counts(db)).toEqual(before);
    },
    SLOW,
  );

  it(
    "admin:create asks for the password twice on a terminal, and never shows it",
    async () => {
      const password = `typed-at-the-prompt-${randomBytes(6).toString("hex")}`;
      const session = await runOnTerminal(
        "packages/api/src/cli/admin-create.ts",
        ["--email", "tty@example.com", "--org", "from-a-terminal"],
        production(),
        [
          ["Password for tty@example.com", password],
          ["Same password again", password],
        ],
      );
      expect(session.output).toContain("Created the organization from-a-terminal");
      expect(session.code).toBe(0);
      expect(session.output).not.toContain(password);
      expect(await signsIn(base, "tty@example.com", password)).toBe(true);
    },
    SLOW,
  );

  it(
    "admin:create refuses bad input and a missing or short password, changing nothing",
    async () => {
      const before = await counts(db);
      const env = { ...production(), ROSTER_ADMIN_PASSWORD: "long-enough-password" };
      expectRefused(await adminCreate(["--email", "not-an-email", "--org", "second"], env), /not a valid address/);
      expectRefused(
        await adminCreate(["--email", `${"a".repeat(250)}@example.com`, "--org", "second"], env),
        /at most 254 characters/,
      );
      expectRefused(await adminCreate(["--email", "b@example.com", "--org", "Not_A_Slug"], env), /lowercase letters/);
      expectRefused(
        await adminCreate(["--email", "b@example.com", "--org", "second", "--name", "x".repeat(101)], env),
        /at most 100 characters/,
      );
      expectRefused(
        await adminCreate(["--email", "b@example.com", "--org", "second", "--password", "long-enough-password"], env),
        /never taken from the command line/,
      );
      // no terminal to ask on, and no ROSTER_ADMIN_PASSWORD
      expectRefused(
        await adminCreate(["--email", "b@example.com", "--org", "second"], production()),
        /A password is needed/,
      );
      expectRefused(
        await adminCreate(["--email", "b@example.com", "--org", "second"], {
          ...production(),
          ROSTER_ADMIN_PASSWORD: "too-short",
        }),
        /at least 12 characters/,
      );
      expect(await counts(db)).toEqual(before);
    },
    SLOW,
  );
});

describe("a database with users but no organization", () => {
  let db: FreshDatabase;
  const development = () => ({ ...db.env, NODE_ENV: "development", AUTH_SECRET: authSecret });
  const keeperIsThere = async () => {
    const handle = await db.open();
    try {
      return (await handle.prisma.user.count({ where: { email: "keeper@example.com" } })) === 1;
    } finally {
      await handle.close();
    }
  };

  beforeAll(async () => {
    db = await freshDatabase();
    await db.migrate();
    const handle = await db.open();
    try {
      await handle.prisma.user.create({ data: { email: "keeper@example.com", username: "keeper@example.com" } });
    } finally {
      await handle.close();
    }
  }, SLOW);

  afterAll(async () => db?.drop(), SLOW);

  it(
    "is not seeded at start-up, which says how to create the first organization",
    async () => {
      const port = await freePort();
      const roster = await startRosterProcess({ ...development(), PORT: String(port) });
      try {
        expect(roster.output()).toContain(FIRST_ADMIN_LINE);
        expect(roster.output()).not.toContain("Seeded the demo data");
        expect(roster.output()).not.toContain(DEMO_PASSWORD);
      } finally {
        await roster.stop();
      }
      expect(await counts(db)).toEqual({ users: 1, organizations: 0, memberships: 0 });
    },
    SLOW,
  );

  it(
    "is not wiped by db:seed without --force; with --force it is, and the demo data can then be rewritten",
    async () => {
      expectRefused(await dbSeed([], development()), /Refusing to seed: the database holds data that is not the demo/);
      expect(await keeperIsThere()).toBe(true);
      expect(await counts(db)).toEqual({ users: 1, organizations: 0, memberships: 0 });

      const forced = await dbSeed(["--force"], development());
      expect(forced.code).toBe(0);
      expect(await keeperIsThere()).toBe(false);
      // the documented way to reset the demo data still works on the demo data
      const again = await dbSeed([], development());
      expect(again.stderr).toContain("Seeded 2 organizations");
      expect(again.code).toBe(0);
    },
    SLOW,
  );
});

describe("db:seed under NODE_ENV=production", () => {
  it(
    "refuses without --force and changes nothing",
    async () => {
      const prisma = await testDb();
      const before = await prisma.user.findMany({ select: { id: true }, orderBy: { id: "asc" } });
      expect(before.length).toBeGreaterThan(0);
      const refused = await dbSeed([], { NODE_ENV: "production" });
      expectRefused(refused, "Refusing to seed under NODE_ENV=production");
      expect(await prisma.user.findMany({ select: { id: true }, orderBy: { id: "asc" } })).toEqual(before);
    },
    SLOW,
  );
});
