// Deprovision a list of people from an organization, as an offboarding job would: read their
// emails from a CSV file, log in as a machine identity (Universal Auth), find their memberships,
// ask the server what the removal would do (and whether it would be refused), then remove them
// in batches through the public REST operation.
//
//   npx tsx examples/deprovision.ts --csv leavers.csv --org <organizationId> [--dry-run]
//   npm run deprovision -- --csv leavers.csv --org <organizationId> --dry-run
//
// Options (environment variables in brackets):
//   --csv <file>              emails, one a line; an `email` header (and other columns) allowed
//   --org <organizationId>    the organization (required: an identity token does not name it;
//                             `npm run identity:secret -- --org <slug> --identity <name> --json`
//                             prints it with a new client secret of that identity)
//   --url <baseUrl>           [ROSTER_URL] default http://localhost:$PORT, else http://localhost:3000
//   --client-id <id>          [ROSTER_CLIENT_ID] the machine identity's client id
//   --client-secret <secret>  [ROSTER_CLIENT_SECRET] its client secret (prefer the variable: a
//                             flag shows up in the process list)
//   --batch-size <n>          memberships per request, at most MAX_BULK_DELETE [MAX_BULK_DELETE,
//                             default 1000, the server's limit]
//   --dry-run                 stop after the preview: print what would go, remove nothing
//
// Exit status: 0 done (or nothing to do), 1 refused or failed (one line on stderr says why, with
// the server's status, error name, message and request id), 2 bad usage.
//
// Each batch is removed with its own Idempotency-Key (a random UUID), so when a request times
// out or the server answers 5xx, 429 or "still running" (409), the same request is sent again
// (up to 5 attempts, waits growing with jitter, Retry-After honoured) and the server removes the
// batch once: a retry of a removal that went through gets its answer again ("200 replayed").
//
// Each batch is previewed before anything is removed, so a refusal the server can foresee (the
// last admin, a privilege boundary, a permission) stops the run before the first removal. Batches
// are separate requests: when a later batch is refused anyway (someone changed the organization
// meanwhile, or the batches together would remove the last admin), the earlier ones stay removed
// and the summary says which.
import { randomUUID } from "node:crypto";
import fs from "node:fs";
import { type ParseArgsConfig, parseArgs } from "node:util";
import { createRosterClient, defaultBaseUrl, type RouterOutputs, rosterErrorOf } from "@roster/client";
import {
  bulkDeleteOrgMemberships,
  createRosterRestClient,
  identityTokenSource,
  listOrgMemberships,
  type MembershipWithUser,
} from "@roster/client/rest";
import { type EmailList, parseEmailCsv } from "./emails-csv";

const USAGE =
  "Usage: npx tsx examples/deprovision.ts --csv <file> --org <organizationId> [--dry-run] [--url <baseUrl>] " +
  "[--client-id <id>] [--client-secret <secret>] [--batch-size <n>]";
const DEFAULT_MAX_BULK_DELETE = 1000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A refusal: one line on stderr, exit 1. */
class Refusal extends Error {}
/** Bad usage: the line and the usage on stderr, exit 2. */
class UsageError extends Error {}

// ---------------------------------------------------------------------------------------------
// Input

interface Options {
  csv: string;
  org: string;
  url: string;
  clientId: string;
  clientSecret: string;
  batchSize: number;
  dryRun: boolean;
}

const ARGS = {
  csv: { type: "string" },
  org: { type: "string" },
  url: { type: "string" },
  "client-id": { type: "string" },
  "client-secret": { type: "string" },
  "batch-size": { type: "string" },
  "dry-run": { type: "boolean", default: false },
  help: { type: "boolean", short: "h", default: false },
} as const satisfies ParseArgsConfig["options"];

function readOptions(argv: string[], env: NodeJS.ProcessEnv): Options {
  let values: ReturnType<typeof parseArgs<{ args: string[]; options: typeof ARGS; strict: true }>>["values"];
  try {
    values = parseArgs({ args: argv, options: ARGS, strict: true }).values;
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    process.exit(0);
  }
  const max = positiveInt(env.MAX_BULK_DELETE ?? String(DEFAULT_MAX_BULK_DELETE), "MAX_BULK_DELETE");
  const batchSize = values["batch-size"] === undefined ? max : positiveInt(values["batch-size"], "--batch-size");
  if (batchSize > max) throw new UsageError(`--batch-size ${batchSize} is over the limit of ${max} (MAX_BULK_DELETE)`);

  const csv = values.csv;
  if (!csv) throw new UsageError("--csv <file> is required");
  const org = values.org?.trim();
  if (!org)
    throw new UsageError(
      "--org <organizationId> is required (npm run identity:secret -- --org <slug> --identity <name> prints it)",
    );
  if (!UUID.test(org)) throw new UsageError(`--org must be an organization id (a UUID), not "${org}"`);
  const clientId = values["client-id"] ?? env.ROSTER_CLIENT_ID;
  const clientSecret = values["client-secret"] ?? env.ROSTER_CLIENT_SECRET;
  if (!clientId || !clientSecret) {
    throw new UsageError(
      "the machine identity's credentials are required: --client-id and --client-secret (or ROSTER_CLIENT_ID and ROSTER_CLIENT_SECRET)",
    );
  }
  return {
    csv,
    org: org.toLowerCase(),
    url: (values.url ?? defaultBaseUrl(env)).replace(/\/+$/, ""),
    clientId,
    clientSecret,
    batchSize,
    dryRun: values["dry-run"] ?? false,
  };
}

function positiveInt(text: string, name: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n < 1) {
    throw new UsageError(`${name} must be a positive integer, not "${text}"`);
  }
  return n;
}

// ---------------------------------------------------------------------------------------------
// Output

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

function table(rows: string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length))) ?? [];
  return rows.map((r) => `  ${r.map((c, i) => c.padEnd(widths[i] ?? 0)).join("  ")}`.trimEnd()).join("\n");
}

/** Progress on stderr: a bar redrawn in place on a terminal, one plain line per batch otherwise. */
function progress(total: number, batches: number) {
  const tty = Boolean(process.stderr.isTTY);
  const width = 30;
  return {
    update(done: number, batch: number, note: string) {
      if (tty) {
        const filled = total === 0 ? width : Math.round((done / total) * width);
        const bar = `${"#".repeat(filled)}${"-".repeat(width - filled)}`;
        process.stderr.write(`\r\x1b[2K[${bar}] ${done}/${total} removed · batch ${batch}/${batches} ${note}`);
      } else {
        process.stderr.write(`batch ${batch}/${batches}: ${note} (${done}/${total} removed)\n`);
      }
    },
    end() {
      if (tty) process.stderr.write("\n");
    },
  };
}

const emailOf = (m: { user: { email: string } | null; inviteEmail: string | null }) =>
  m.user?.email ?? m.inviteEmail ?? "(no email)";

// ---------------------------------------------------------------------------------------------
// The run

type Preview = RouterOutputs["organizations"]["previewBulkDeleteMemberships"];

interface BatchResult {
  batch: number;
  size: number;
  removed: number;
  status: string;
  reqId: string;
}

async function run(opts: Options): Promise<void> {
  // 1. The emails.
  let text: string;
  try {
    text = fs.readFileSync(opts.csv, "utf8");
  } catch (err) {
    throw new Refusal(`cannot read ${opts.csv}: ${(err as Error).message}`);
  }
  const list = parseEmailCsv(text);
  for (const bad of list.invalid) console.error(`${opts.csv}:${bad.line}: not an email, skipped: ${bad.text}`);
  console.log(
    `Read ${plural(list.emails.length, "email")} from ${opts.csv}` +
      (list.invalid.length > 0 ? `, ${plural(list.invalid.length, "invalid line")} skipped` : "") +
      (list.duplicates > 0 ? `, ${plural(list.duplicates, "duplicate")} ignored` : ""),
  );
  if (list.emails.length === 0) {
    console.log("Nothing to do.");
    return;
  }

  // 2. Log in as the machine identity (the token renews itself if the run outlasts it).
  const token = identityTokenSource({ baseUrl: opts.url, clientId: opts.clientId, clientSecret: opts.clientSecret });
  try {
    await token();
  } catch (err) {
    throw new Refusal(`login failed: ${describe(err, opts.url)}`);
  }
  try {
    await deprovision(opts, list, token);
  } finally {
    await token.revoke().catch(() => undefined);
  }
}

async function deprovision(opts: Options, list: EmailList, token: () => Promise<string>): Promise<void> {
  const rest = createRosterRestClient({
    baseUrl: opts.url,
    token,
    retry: {
      onRetry: ({ attempt, reason, delayMs }) =>
        console.error(`attempt ${attempt} failed (${reason}); retrying in ${delayMs} ms with the same key`),
    },
  });
  const trpc = createRosterClient({ baseUrl: opts.url, token });

  // 3. Their memberships: by the user's email, or an invite's email.
  let users: MembershipWithUser[];
  try {
    users = await listOrgMemberships(rest, opts.org);
  } catch (err) {
    throw new Refusal(`listing the memberships failed: ${describe(err, opts.url)}`);
  }
  const byEmail = new Map<string, MembershipWithUser[]>();
  for (const m of users) {
    for (const email of new Set([m.user?.email, m.inviteEmail].filter((e): e is string => !!e))) {
      const key = email.toLowerCase();
      byEmail.set(key, [...(byEmail.get(key) ?? []), m]);
    }
  }
  const chosen = new Set<string>();
  const notFound: string[] = [];
  let found = 0;
  for (const email of list.emails) {
    const matches = byEmail.get(email) ?? [];
    if (matches.length === 0) notFound.push(email);
    else found++;
    for (const m of matches) chosen.add(m.id);
  }
  const ids = [...chosen];
  console.log(`Found ${plural(ids.length, "membership")} for ${found} of ${plural(list.emails.length, "email")}.`);
  if (notFound.length > 0) console.log(`No membership in this organization: ${notFound.join(", ")}`);

  const summary = (removed: number, failed: number, notAttempted: number, batches: BatchResult[]) => {
    console.log("\nSummary");
    console.log(
      table([
        ["found", String(found)],
        ["not found", String(notFound.length)],
        ["invalid lines", String(list.invalid.length)],
        ["removed", String(removed)],
        ["failed", String(failed)],
        ...(notAttempted > 0 ? [["not attempted", String(notAttempted)]] : []),
      ]),
    );
    if (batches.length > 0) {
      console.log("");
      console.log(
        table([
          ["batch", "size", "removed", "status", "reqId"],
          ...batches.map((b) => [String(b.batch), String(b.size), String(b.removed), b.status, b.reqId]),
        ]),
      );
    }
  };
  if (ids.length === 0) {
    console.log("Nothing to remove.");
    summary(0, 0, 0, []);
    return;
  }

  const batches: string[][] = [];
  for (let i = 0; i < ids.length; i += opts.batchSize) batches.push(ids.slice(i, i + opts.batchSize));
  // The server refuses a request that would leave no active, accepted admin; batches are separate
  // requests, so the batches together are checked here before the first one goes.
  if (batches.length > 1) {
    const isAdmin = (m: MembershipWithUser) => m.role === "admin" && m.status === "accepted" && m.isActive;
    const leaving = users.filter((m) => isAdmin(m) && chosen.has(m.id));
    if (leaving.length > 0 && !users.some((m) => isAdmin(m) && !chosen.has(m.id))) {
      throw new Refusal(
        `the batches together would leave the organization with no admin (${leaving.map(emailOf).join(", ")}), ` +
          "nothing removed. Promote another user to admin first.",
      );
    }
  }

  // 4. The preview of every batch: what would go, and whether the server would refuse.
  const previews: Preview[] = [];
  for (const [index, batch] of batches.entries()) {
    let preview: Preview;
    try {
      preview = await trpc.organizations.previewBulkDeleteMemberships.mutate({
        organizationId: opts.org,
        membershipIds: batch,
      });
    } catch (err) {
      throw new Refusal(`the preview failed: ${describe(err, opts.url)}`);
    }
    if (preview.blocker) {
      const b = preview.blocker;
      const where = batches.length > 1 ? ` (batch ${index + 1} of ${batches.length})` : "";
      throw new Refusal(`the server would refuse${where}, nothing removed: ${b.statusCode} ${b.error}: ${b.message}`);
    }
    previews.push(preview);
  }
  const going = previews.flatMap((p) => p.memberships);
  const projectMemberships = previews.reduce((n, p) => n + p.projectMembershipCount, 0);
  console.log(
    `\n${opts.dryRun ? "Would remove" : "Removing"} ${plural(going.length, "membership")} ` +
      `(and ${plural(projectMemberships, "project membership")}) in ${plural(batches.length, "batch", "batches")}:`,
  );
  console.log(
    table([
      ["email", "role", "status", "membership"],
      ...going.map((m) => [emailOf(m), m.role, m.isActive ? m.status : `${m.status}, inactive`, m.id]),
    ]),
  );
  if (opts.dryRun) {
    console.log("\nDry run: nothing removed.");
    return;
  }

  // 5. The removal, batch by batch; the first refusal stops the run.
  const results: BatchResult[] = [];
  const bar = progress(ids.length, batches.length);
  let removed = 0;
  for (const [index, batch] of batches.entries()) {
    try {
      // One key per batch: every retry of this batch is the same request to the server.
      const answer = await bulkDeleteOrgMemberships(rest, opts.org, batch, { idempotencyKey: randomUUID() });
      removed += answer.memberships.length;
      results.push({
        batch: index + 1,
        size: batch.length,
        removed: answer.memberships.length,
        status: answer.replayed ? "200 replayed" : "200",
        reqId: answer.reqId ?? "-",
      });
      bar.update(removed, index + 1, `removed ${answer.memberships.length}`);
    } catch (err) {
      const e = rosterErrorOf(err);
      results.push({
        batch: index + 1,
        size: batch.length,
        removed: 0,
        status: e ? `${e.status} ${e.error}` : "error",
        reqId: e?.reqId ?? "-",
      });
      bar.update(removed, index + 1, "refused");
      bar.end();
      const notAttempted = batches.slice(index + 1).reduce((n, b) => n + b.length, 0);
      summary(removed, batch.length, notAttempted, results);
      throw new Refusal(`batch ${index + 1} of ${batches.length} was refused: ${describe(err, opts.url)}`);
    }
  }
  bar.end();
  summary(removed, 0, 0, results);
}

/** One line for a failure: the server's status, error name, message and request id when it answered. */
function describe(err: unknown, url: string): string {
  const e = rosterErrorOf(err);
  if (e) return e.describe();
  // No answer: fetch failed (tRPC wraps that error once more).
  for (let c: unknown = err; c instanceof Error; c = c.cause) {
    if (c instanceof TypeError && c.message === "fetch failed") {
      const why = c.cause instanceof Error ? c.cause.message : c.message;
      return `cannot reach ${url}: ${why}`;
    }
  }
  return err instanceof Error ? err.message : String(err);
}

async function main(): Promise<number> {
  let opts: Options;
  try {
    opts = readOptions(process.argv.slice(2), process.env);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`deprovision: ${err.message}\n${USAGE}`);
      return 2;
    }
    throw err;
  }
  try {
    await run(opts);
    return 0;
  } catch (err) {
    console.error(`deprovision: ${err instanceof Refusal ? err.message : describe(err, opts.url)}`);
    return 1;
  }
}

process.exitCode = await main();
