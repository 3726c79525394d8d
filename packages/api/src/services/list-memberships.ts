// The member list behind the admin UI (search, filters, sorting and paging done in the database,
// with the total count), and the whole organization read in one pass for GET .../memberships.
import type {
  ListedMembership,
  ListMembershipsInput,
  ListMembershipsOutput,
  MembershipWithUserDto,
} from "@roster/contract";
import { type Db, Prisma, queryRows } from "@roster/db";
import { memberTotalStatement, totalFromCounts } from "./member-counts";
import {
  MEMBERSHIP_COLUMNS,
  type MembershipRow,
  type MembershipRowAsRead,
  toMembershipWithUserDto,
  USER_COLUMNS,
  type UserColumns,
} from "./membership-dto";

/** What selects members: the search and the filters. */
type MemberFilters = Pick<ListMembershipsInput, "search" | "role" | "status">;

type ListArgs = MemberFilters &
  Required<Pick<ListMembershipsInput, "limit" | "sortBy" | "sortDir">> &
  Pick<ListMembershipsInput, "cursor" | "page">;

/** A listed row: the membership, its user, and the number of its user's projects in the organization. */
interface ListedRow extends MembershipRow, UserColumns {
  projectCount: number;
}

/** The membership and user columns, for `FROM org_memberships m LEFT JOIN users u ON u.id = m.user_id`. */
const MEMBER_COLUMNS = Prisma.sql`${MEMBERSHIP_COLUMNS}, ${USER_COLUMNS}`;

const SORT_EXPRESSIONS: Record<NonNullable<ListMembershipsInput["sortBy"]>, Prisma.Sql> = {
  // The sort keys the database keeps on each membership (see the member_sort_keys migration):
  // lower("first last"), else lower(email); lower(email, else the invite's). The indexes
  // (org_id, sort_name, id) and (org_id, sort_email, id) hand over the first page in ascending
  // order without reading the rest. An invite has no name (no account yet): NULL, so NULLS
  // LAST puts invites last either way.
  name: Prisma.sql`m.sort_name`,
  email: Prisma.sql`m.sort_email`,
  role: Prisma.sql`m.role`,
  status: Prisma.sql`(CASE WHEN m.status = 'invited' THEN 0 WHEN m.is_active THEN 1 ELSE 2 END)`,
  lastLoginTime: Prisma.sql`m.last_login_time`,
  createdAt: Prisma.sql`m.created_at`,
  projectCount: Prisma.sql`"projectCount"`,
};

const escapeLike = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`);

/**
 * The search: email, invite email or "first last" containing the term, case-insensitively. The
 * membership's sort keys hold the user's email (else the invite's) and "first last" (else the
 * email), so the whole search is on the membership row, answered by trigram GIN indexes on the
 * two keys and on the invite email (a BitmapOr of three index scans), then kept to this
 * organization.
 */
function searchFilter(search: string): Prisma.Sql {
  const pattern = `%${escapeLike(search)}%`;
  return Prisma.sql`(m.sort_email ILIKE ${pattern} OR m.sort_name ILIKE ${pattern} OR m.invite_email ILIKE ${pattern})`;
}

function filters(orgId: string, args: MemberFilters): Prisma.Sql {
  const parts: Prisma.Sql[] = [Prisma.sql`m.org_id = ${orgId}::uuid`];
  if (args.search) parts.push(searchFilter(args.search));
  if (args.role) parts.push(Prisma.sql`m.role = ${args.role}::"OrgRole"`);
  if (args.status === "invited") parts.push(Prisma.sql`m.status = 'invited'`);
  if (args.status === "active") parts.push(Prisma.sql`m.status = 'accepted' AND m.is_active`);
  if (args.status === "inactive") parts.push(Prisma.sql`m.status = 'accepted' AND NOT m.is_active`);
  return Prisma.join(parts, " AND ");
}

function toListed(r: ListedRow): ListedMembership {
  return { ...toMembershipWithUserDto(r), projectCount: r.projectCount };
}

/** The two statements of a page of the list: its rows, and how many match in all (see totalStatement). */
export function listStatements(orgId: string, args: ListArgs): { page: Prisma.Sql; count: Prisma.Sql; offset: number } {
  const offset = args.cursor ? Number(args.cursor) : ((args.page ?? 1) - 1) * args.limit;
  const where = filters(orgId, args);
  const dir = args.sortDir === "desc" ? Prisma.sql`DESC` : Prisma.sql`ASC`;
  return {
    page: Prisma.sql`
      SELECT ${MEMBER_COLUMNS},
             (SELECT count(*)::int FROM project_memberships pm JOIN projects p ON p.id = pm.project_id
               WHERE pm.user_id = m.user_id AND p.org_id = m.org_id) AS "projectCount"
      FROM org_memberships m LEFT JOIN users u ON u.id = m.user_id
      WHERE ${where}
      ORDER BY ${SORT_EXPRESSIONS[args.sortBy]} ${dir} NULLS LAST, m.id
      LIMIT ${args.limit} OFFSET ${offset}`,
    count: totalStatement(orgId, args, where),
    offset,
  };
}

export async function listMemberships(prisma: Db, orgId: string, args: ListArgs): Promise<ListMembershipsOutput> {
  const { page, count, offset } = listStatements(orgId, args);
  const [rows, total] = await Promise.all([prisma.$queryRaw<ListedRow[]>(page), totalOf(prisma, orgId, args, count)]);
  const next = offset + rows.length;
  return { items: rows.map(toListed), total, nextCursor: rows.length > 0 && next < total ? String(next) : null };
}

/** Rows per query of streamMemberships: one page is all it holds in memory at a time. */
export const STREAM_PAGE_SIZE = 1000;

/** Where the first page starts: before every membership. */
const BEFORE_ALL = { createdAt: "-infinity", id: "00000000-0000-0000-0000-000000000000" };

/**
 * Every membership of the organization with its user, oldest first (created_at, then id), as
 * pages read one after the other. Keyset paging: each page starts right after the last row of
 * the one before, read along the index (org_id, created_at, id) by the database's
 * `org_membership_page` (which keeps the planner from sorting: see its migration), so the whole
 * read is one pass, linear in the organization's size, with no OFFSET and no count. Each page is
 * one prepared statement past Prisma's query engine, its timestamps kept as PostgreSQL's text and
 * rewritten as the contract's (a Date per timestamp, 400,000 of them per 100,000 members, was a
 * third of the reading's CPU). No transaction spans the pages (a slow reader must hold neither a
 * connection nor a snapshot): a membership present for the whole read is listed exactly once; one
 * added or removed meanwhile may or may not be.
 */
export async function* streamMemberships(
  prisma: Db,
  orgId: string,
  pageSize = STREAM_PAGE_SIZE,
): AsyncGenerator<MembershipWithUserDto[], void, undefined> {
  let after: { createdAt: string | Date; id: string } = BEFORE_ALL;
  for (;;) {
    const rows: (MembershipRowAsRead & UserColumns)[] = await queryRows<MembershipRowAsRead & UserColumns>(
      prisma,
      Prisma.sql`
        SELECT ${MEMBER_COLUMNS}
        FROM org_membership_page(${orgId}::uuid, ${after.createdAt}::timestamptz, ${after.id}::uuid, ${pageSize}::int) m
        LEFT JOIN users u ON u.id = m.user_id
        ORDER BY m.created_at, m.id`,
      { timestampsAsText: true },
    );
    if (rows.length > 0) yield rows.map(toMembershipWithUserDto);
    const last = rows.at(-1);
    if (!last || rows.length < pageSize) return;
    after = { createdAt: last.createdAt, id: last.id };
  }
}

/** The ids of every membership matching the filters, up to `cap` (the UI's "select all matching"). */
export async function listMembershipIds(
  prisma: Db,
  orgId: string,
  args: MemberFilters,
  cap: number,
): Promise<{ ids: string[]; total: number }> {
  const where = filters(orgId, args);
  const [rows, total] = await Promise.all([
    prisma.$queryRaw<{ id: string }[]>`
      SELECT m.id FROM org_memberships m LEFT JOIN users u ON u.id = m.user_id
      WHERE ${where} ORDER BY ${SORT_EXPRESSIONS.email}, m.id LIMIT ${cap}`,
    totalOf(prisma, orgId, args, totalStatement(orgId, args, where)),
  ]);
  return { ids: rows.map((r) => r.id), total };
}

/** How many memberships match a `filters()` condition in all. */
function countStatement(where: Prisma.Sql): Prisma.Sql {
  return Prisma.sql`
    SELECT count(*)::int AS total FROM org_memberships m LEFT JOIN users u ON u.id = m.user_id WHERE ${where}`;
}

/**
 * The statement of how many memberships match: without a search, a sum of the counts the
 * database keeps by role and status (member-counts.ts: a few rows, where counting took the whole
 * first page's time at 100,000 members); with one, its matches counted.
 */
function totalStatement(orgId: string, args: MemberFilters, where: Prisma.Sql): Prisma.Sql {
  return args.search ? countStatement(where) : memberTotalStatement(orgId, args);
}

/** Runs a totalStatement of the same filters. */
function totalOf(prisma: Db, orgId: string, args: MemberFilters, statement: Prisma.Sql): Promise<number> {
  return args.search ? countOf(prisma, statement) : totalFromCounts(prisma, orgId, statement);
}

async function countOf(prisma: Db, statement: Prisma.Sql): Promise<number> {
  const [row] = await prisma.$queryRaw<{ total: number }[]>(statement);
  return row?.total ?? 0;
}
