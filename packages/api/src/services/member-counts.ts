// How many memberships an organization has, by role and status, from the counts the database
// keeps (the org_member_counts migration): the member list's total without counting the
// organization's memberships. Triggers append one delta row per key each statement changes;
// a total is their sum, and an organization's rows are folded into one per key when they pile up.
import type { ListMembershipsInput } from "@roster/contract";
import { type Db, Prisma, queryRows } from "@roster/db";

/** An organization's delta rows past which a read folds them (one per key is what a fold leaves). */
export const FOLD_AT = 64;

type CountFilters = Pick<ListMembershipsInput, "role" | "status">;

/** The keys a filter selects: the same conditions as the list's filters, on the counts' columns. */
function matching(args: CountFilters): Prisma.Sql {
  const parts: Prisma.Sql[] = [Prisma.sql`TRUE`];
  if (args.role) parts.push(Prisma.sql`role = ${args.role}::"OrgRole"`);
  if (args.status === "invited") parts.push(Prisma.sql`status = 'invited'`);
  if (args.status === "active") parts.push(Prisma.sql`status = 'accepted' AND is_active`);
  if (args.status === "inactive") parts.push(Prisma.sql`status = 'accepted' AND NOT is_active`);
  return Prisma.join(parts, " AND ");
}

/** The statement of memberTotal: the matching keys' sum, and how many rows the organization has. */
export function memberTotalStatement(orgId: string, args: CountFilters): Prisma.Sql {
  return Prisma.sql`
    SELECT coalesce(sum(delta) FILTER (WHERE ${matching(args)}), 0)::int AS total, count(*)::int AS rows
    FROM org_member_counts WHERE org_id = ${orgId}::uuid`;
}

/**
 * How many of the organization's memberships match the role and status filters: the sum of its
 * delta rows (an index lookup and a few rows, whatever the organization's size). A read that finds
 * more than FOLD_AT rows folds them before it answers.
 */
export function memberTotal(prisma: Db, orgId: string, args: CountFilters): Promise<number> {
  return totalFromCounts(prisma, orgId, memberTotalStatement(orgId, args));
}

/** Runs a memberTotalStatement of the organization's (built already), folding as memberTotal says. */
export async function totalFromCounts(prisma: Db, orgId: string, statement: Prisma.Sql): Promise<number> {
  const [row] = await queryRows<{ total: number; rows: number }>(prisma, statement);
  if ((row?.rows ?? 0) > FOLD_AT) await foldMemberCounts(prisma, orgId);
  return row?.total ?? 0;
}

/**
 * Replaces the organization's delta rows with one per key holding their sum (none for a sum of
 * zero), in one statement. It deletes only the rows it read, and a row another transaction appends
 * meanwhile stays to be summed with the rest, so writers never wait on it. Two folds at once: the
 * second waits on the rows the first deletes, then skips them, and sums only what it deleted.
 */
export async function foldMemberCounts(prisma: Db, orgId: string): Promise<void> {
  await prisma.$executeRaw`
    WITH folded AS (DELETE FROM org_member_counts WHERE org_id = ${orgId}::uuid
                    RETURNING role, status, is_active, delta)
    INSERT INTO org_member_counts (org_id, role, status, is_active, delta)
    SELECT ${orgId}::uuid, role, status, is_active, sum(delta)::int FROM folded
    GROUP BY role, status, is_active HAVING sum(delta) <> 0`;
}
