// npm run admin:create -- --email <e> --org <slug> [--name "<Org name>"]: creates an organization
// and its admin (a new account, or the existing one with that email). The password is asked for
// twice, unechoed, on a terminal; unattended runs give it in ROSTER_ADMIN_PASSWORD. It is never
// taken from the command line (other users can read a process's arguments) and never printed.
import { takeAdminPassword } from "@roster/config";
import { Prisma } from "@roster/db";
import { read } from "read";
import {
  createOrganizationAdmin,
  inspectAdminTarget,
  MIN_ADMIN_PASSWORD_LENGTH,
  parseCreateOrganizationAdmin,
  passwordProblem,
} from "../services/create-organization-admin";
import { flag, runCli, UsageError } from "./run";

const USAGE = 'Usage: npm run admin:create -- --email <email> --org <slug> [--name "<Organization name>"]';
const KNOWN = new Set(["email", "org", "name"]);

// Read before anything else can copy the environment.
const envPassword = takeAdminPassword();

function checkArguments(args: string[]): void {
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    const name = /^--([a-z-]+)(=|$)/.exec(a)?.[1];
    if (name === "password") {
      throw new UsageError(
        "The password is never taken from the command line: you are asked for it, or set ROSTER_ADMIN_PASSWORD",
      );
    }
    if (!name || !KNOWN.has(name)) throw new UsageError(`Unknown argument ${a.slice(0, 40)}. ${USAGE}`);
    if (!a.includes("=")) i++; // its value
  }
}

/** Bounds how long the prompt waits for someone at the terminal. */
const PROMPT_TIMEOUT_MS = 5 * 60_000;

async function askPassword(email: string): Promise<string> {
  const ask = (prompt: string) =>
    new Promise<string>((resolve, reject) => {
      // Ctrl-D closes the prompt (which pauses the input) without a line, and read() then never
      // settles: stop instead of waiting. After a line, the answer has settled this promise first.
      const giveUp = () => reject(new UsageError("No password given; nothing was changed"));
      const onClosed = () => setImmediate(giveUp);
      process.stdin.once("pause", onClosed);
      // Unreferenced, so that it never keeps a finished command alive; on expiry the input goes too.
      const timer = setTimeout(() => {
        giveUp();
        process.stdin.destroy();
      }, PROMPT_TIMEOUT_MS);
      timer.unref();
      read({ prompt, silent: true, replace: "", output: process.stderr })
        .then(resolve, giveUp)
        .finally(() => {
          clearTimeout(timer);
          process.stdin.removeListener("pause", onClosed);
        });
    });
  const first = await ask(`Password for ${email} (at least ${MIN_ADMIN_PASSWORD_LENGTH} characters): `);
  const problem = passwordProblem(first);
  if (problem) throw new UsageError(problem);
  if ((await ask("Same password again: ")) !== first)
    throw new UsageError("The two passwords differ; nothing was changed");
  return first;
}

await runCli(async ({ db, args }) => {
  checkArguments(args);
  const email = flag(args, "email");
  const slug = flag(args, "org");
  if (!email || !slug) throw new UsageError(USAGE);
  const input = parseCreateOrganizationAdmin({ email, slug, name: flag(args, "name") });

  const { needsPassword } = await inspectAdminTarget(db.prisma, input).catch((err: unknown) => {
    if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === "P2021") {
      throw new UsageError("The database has no tables yet: run npm run db:migrate (or start Roster once) first");
    }
    throw err;
  });
  let password: string | undefined;
  if (needsPassword) {
    if (envPassword !== undefined) password = envPassword;
    else if (process.stdin.isTTY) password = await askPassword(input.email);
    else {
      throw new UsageError(
        "A password is needed: run this in a terminal to be asked for it, or set ROSTER_ADMIN_PASSWORD",
      );
    }
  }
  const created = await createOrganizationAdmin(db.prisma, { ...input, ...(password ? { password } : {}) });
  console.error(
    created.userCreated
      ? `Created the account ${input.email}`
      : `Using the existing account ${input.email} (its password is unchanged)`,
  );
  console.error(`Created the organization ${input.slug} ("${input.name}") with ${input.email} as its admin`);
  process.stdout.write(`${JSON.stringify({ organizationId: created.organizationId, userId: created.userId })}\n`);
});
