// npm run token -- --email <email> --org <slug> [--ttl <seconds>]: prints a fresh access token.
import { issueAccessToken } from "../auth/sessions";
import { flag, runCli, UsageError } from "./run";

const USAGE = "Usage: npm run token -- --email <email> --org <slug> [--ttl <seconds>]";

await runCli(async ({ db, config, args }) => {
  const email = flag(args, "email")?.trim().toLowerCase();
  const slug = flag(args, "org")?.trim();
  const ttlText = flag(args, "ttl");
  if (!email || !slug) throw new UsageError(USAGE);
  const ttlSeconds = ttlText === undefined ? undefined : Number(ttlText);
  if (ttlSeconds !== undefined && (!Number.isInteger(ttlSeconds) || ttlSeconds < 60 || ttlSeconds > 30 * 86400)) {
    throw new UsageError(`--ttl must be a whole number of seconds from 60 to 2592000. ${USAGE}`);
  }
  const user = await db.prisma.user.findUnique({ where: { email }, select: { id: true } });
  if (!user) throw new UsageError(`No user with email ${email}`);
  const org = await db.prisma.organization.findUnique({ where: { slug }, select: { id: true } });
  if (!org) throw new UsageError(`No organization with slug ${slug}`);
  const member = await db.prisma.orgMembership.findFirst({
    where: { orgId: org.id, userId: user.id },
    select: { id: true },
  });
  if (!member) throw new UsageError(`${email} is not a member of ${slug}`);
  const { token, expiresAt } = await issueAccessToken(db.prisma, config.authSecret, {
    userId: user.id,
    organizationId: org.id,
    origin: { userAgent: "roster-cli" },
    ...(ttlSeconds ? { ttlSeconds } : {}),
  });
  console.error(`Access token for ${email} in ${slug}, valid until ${expiresAt.toISOString()}:`);
  process.stdout.write(`${token}\n`);
});
