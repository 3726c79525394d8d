// npm run identity:secret -- --org <slug> --identity <name> [--description <text>] [--ttl <seconds>] [--json]:
// creates one client secret for a machine identity and prints its client id and the secret (shown
// this once; stored hashed). Nothing else changes: other secrets, tokens and data stay as they are.
import { parseArgs } from "node:util";
import { CreateClientSecretInput } from "@roster/contract";
import { createClientSecret } from "../services/identities";
import { runCli, UsageError } from "./run";

const USAGE =
  "Usage: npm run identity:secret -- --org <slug> --identity <name> [--description <text>] [--ttl <seconds>] [--json]";

await runCli(async ({ db, args }) => {
  let values: { org?: string; identity?: string; description?: string; ttl?: string; json?: boolean };
  try {
    values = parseArgs({
      args,
      strict: true,
      options: {
        org: { type: "string" },
        identity: { type: "string" },
        description: { type: "string" },
        ttl: { type: "string" },
        json: { type: "boolean", default: false },
      },
    }).values;
  } catch (err) {
    throw new UsageError(`${(err as Error).message}. ${USAGE}`);
  }
  const slug = values.org?.trim();
  const name = values.identity?.trim();
  if (!slug || !name) throw new UsageError(USAGE);
  if (slug.length > 64 || name.length > 64)
    throw new UsageError(`--org and --identity take at most 64 characters. ${USAGE}`);
  const ttl = values.ttl === undefined ? 0 : Number(values.ttl);

  const org = await db.prisma.organization.findUnique({ where: { slug }, select: { id: true } });
  if (!org) throw new UsageError(`No organization with slug ${slug}`);
  const identity = await db.prisma.identity.findUnique({
    where: { orgId_name: { orgId: org.id, name } },
    select: { id: true },
  });
  if (!identity) throw new UsageError(`No identity named ${name} in ${slug}`);

  const input = CreateClientSecretInput.safeParse({
    organizationId: org.id,
    identityId: identity.id,
    description: values.description ?? "npm run identity:secret",
    ttl,
  });
  if (!input.success) {
    const issue = input.error.issues[0];
    throw new UsageError(`--${String(issue?.path[0] ?? "input")}: ${issue?.message ?? "invalid"}. ${USAGE}`);
  }
  const created = await createClientSecret(db.prisma, { kind: "console", organizationId: org.id }, input.data);
  if (values.json) {
    const out = {
      organizationId: org.id,
      organizationSlug: slug,
      identityId: identity.id,
      identityName: name,
      clientId: created.clientId,
      clientSecret: created.clientSecret,
      clientSecretId: created.secret.id,
    };
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    return;
  }
  console.error(`New client secret of identity ${name} in ${slug} (organization ${org.id}); it is shown only now:`);
  process.stdout.write(`clientId      ${created.clientId}\nclientSecret  ${created.clientSecret}\n`);
});
