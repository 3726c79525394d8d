// The first organization of a deployment and its admin (`npm run admin:create`): in production
// nothing is seeded, so this is how an operator gets in. One transaction writes the user (or
// reuses the account that has the email), the organization and an admin membership, or nothing.
import { hash } from "@node-rs/argon2";
import { type Db, Prisma, toDbRole } from "@roster/db";
import { z } from "zod";
import { BadRequestError } from "../errors";

export const MIN_ADMIN_PASSWORD_LENGTH = 12;
/** Sign-in refuses longer passwords (see password.ts), so a longer one could never be used. */
export const MAX_ADMIN_PASSWORD_LENGTH = 1024;

export const CreateOrganizationAdminInput = z.object({
  email: z
    .string()
    .trim()
    .toLowerCase()
    .max(254, "the email must be at most 254 characters")
    .pipe(z.email("the email is not a valid address")),
  slug: z
    .string()
    .trim()
    .regex(
      /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/,
      "the slug must be 1 to 63 lowercase letters, digits or hyphens, starting and ending with a letter or digit",
    ),
  name: z
    .string()
    .trim()
    .min(1, "the organization name must not be empty")
    .max(100, "the organization name must be at most 100 characters")
    // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
    .regex(/^[^\u0000-\u001f\u007f]*$/, "the organization name must not contain control characters")
    .optional(),
});
export type CreateOrganizationAdminInput = z.input<typeof CreateOrganizationAdminInput>;

/** The input checked and normalised, or a BadRequestError naming the first problem. */
export function parseCreateOrganizationAdmin(input: CreateOrganizationAdminInput): {
  email: string;
  slug: string;
  name: string;
} {
  const parsed = CreateOrganizationAdminInput.safeParse(input);
  if (!parsed.success) throw new BadRequestError(`Invalid input: ${parsed.error.issues[0]?.message ?? "invalid"}`);
  return { ...parsed.data, name: parsed.data.name ?? parsed.data.slug };
}

export function passwordProblem(password: string): string | null {
  if (password.length < MIN_ADMIN_PASSWORD_LENGTH) {
    return `The password must be at least ${MIN_ADMIN_PASSWORD_LENGTH} characters`;
  }
  if (password.length > MAX_ADMIN_PASSWORD_LENGTH) {
    return `The password must be at most ${MAX_ADMIN_PASSWORD_LENGTH} characters`;
  }
  return null;
}

/** What an operator must be told before a password is asked for (and what needs none). */
export async function inspectAdminTarget(
  prisma: Db,
  input: { email: string; slug: string },
): Promise<{ needsPassword: boolean }> {
  await assertSlugFree(prisma, input.slug);
  const user = await prisma.user.findUnique({ where: { email: input.email }, select: { passwordHash: true } });
  return { needsPassword: !user?.passwordHash };
}

async function assertSlugFree(prisma: Db | Prisma.TransactionClient, slug: string): Promise<void> {
  const taken = await prisma.organization.findUnique({ where: { slug }, select: { id: true } });
  if (taken) throw new BadRequestError(`An organization with the slug ${slug} already exists; nothing was changed`);
}

export interface CreatedOrganizationAdmin {
  userId: string;
  organizationId: string;
  membershipId: string;
  /** False when an existing account was made the admin (its password is left as it was). */
  userCreated: boolean;
}

/**
 * Creates the organization with `email` as its admin. An existing account with that email is
 * reused and keeps its password; `password` (hashed with argon2id, as sign-in expects) is set
 * only on a new account or on one that has none.
 */
export async function createOrganizationAdmin(
  prisma: Db,
  input: { email: string; slug: string; name: string; password?: string },
): Promise<CreatedOrganizationAdmin> {
  const problem = input.password === undefined ? null : passwordProblem(input.password);
  if (problem) throw new BadRequestError(problem);
  const passwordHash = input.password === undefined ? undefined : await hash(input.password, { algorithm: 2 });
  try {
    return await prisma.$transaction(async (tx) => {
      await assertSlugFree(tx, input.slug);
      const existing = await tx.user.findUnique({
        where: { email: input.email },
        select: { id: true, passwordHash: true },
      });
      if (!existing && !passwordHash) throw new BadRequestError("A new account needs a password");
      let userId: string;
      if (existing) {
        userId = existing.id;
        if (!existing.passwordHash) {
          if (!passwordHash) throw new BadRequestError(`${input.email} has no password yet: one is needed`);
          await tx.user.update({ where: { id: userId }, data: { passwordHash } });
        }
      } else {
        const user = await tx.user.create({
          data: { email: input.email, username: input.email, passwordHash: passwordHash ?? null },
          select: { id: true },
        });
        userId = user.id;
      }
      const org = await tx.organization.create({
        data: { slug: input.slug, name: input.name },
        select: { id: true },
      });
      const membership = await tx.orgMembership.create({
        data: { orgId: org.id, userId, role: toDbRole("admin"), status: "accepted", isActive: true },
        select: { id: true },
      });
      return { userId, organizationId: org.id, membershipId: membership.id, userCreated: !existing };
    });
  } catch (err) {
    // Two runs at once: the unique index settles it, and the loser changes nothing.
    if (err instanceof Prisma.PrismaClientKnownRequestError && err.code === "P2002") {
      throw new BadRequestError(
        `An organization with the slug ${input.slug} (or an account named ${input.email}) already exists; nothing was changed`,
      );
    }
    throw err;
  }
}
