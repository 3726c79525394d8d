-- How many memberships an organization has, by role, status and activity, kept by the database
-- itself so that the member list's total is a few rows summed rather than the organization's
-- memberships counted (at 100,000 members the count was the whole cost of the list's first page).
--
-- The table holds deltas, never a running total: every statement that inserts, deletes or updates
-- memberships appends one row per (organization, role, status, is_active) it changed, and the
-- total is their sum. Appending takes no lock another writer waits on, so removals that do not
-- serialize (issue 12: only a removal of an active admin takes the organization's lock) still do
-- not; a single counter row per organization would make every removal wait for the one before it
-- to commit. The application folds an organization's rows into one per key when they pile up
-- (services/member-counts.ts).
-- CreateTable
CREATE TABLE "org_member_counts" (
    "id" BIGSERIAL NOT NULL,
    "org_id" UUID NOT NULL,
    "role" "OrgRole" NOT NULL,
    "status" "MembershipStatus" NOT NULL,
    "is_active" BOOLEAN NOT NULL,
    "delta" INTEGER NOT NULL,

    CONSTRAINT "org_member_counts_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "org_member_counts_org_id_idx" ON "org_member_counts"("org_id");

CREATE FUNCTION "org_member_counts_inserted"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "org_member_counts" ("org_id", "role", "status", "is_active", "delta")
    SELECT "org_id", "role", "status", "is_active", count(*) FROM new_rows GROUP BY 1, 2, 3, 4;
  RETURN NULL;
END $$;

-- Memberships deleted with their organization (the cascade) append nothing: the organization's
-- counts go with it (below).
CREATE FUNCTION "org_member_counts_deleted"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "org_member_counts" ("org_id", "role", "status", "is_active", "delta")
    WITH "removed" AS MATERIALIZED (
      SELECT "org_id", "role", "status", "is_active", -count(*) AS "delta" FROM old_rows GROUP BY 1, 2, 3, 4)
    SELECT * FROM "removed" r WHERE EXISTS (SELECT 1 FROM "organizations" o WHERE o."id" = r."org_id");
  RETURN NULL;
END $$;

-- An update that changes no key (a sign-in's last_login_time, a sort key) appends nothing.
CREATE FUNCTION "org_member_counts_updated"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO "org_member_counts" ("org_id", "role", "status", "is_active", "delta")
    SELECT "org_id", "role", "status", "is_active", sum("d")::int
      FROM (SELECT "org_id", "role", "status", "is_active", -1 AS "d" FROM old_rows
            UNION ALL
            SELECT "org_id", "role", "status", "is_active", 1 FROM new_rows) AS changed
      GROUP BY 1, 2, 3, 4 HAVING sum("d") <> 0;
  RETURN NULL;
END $$;

CREATE FUNCTION "org_member_counts_truncated"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM "org_member_counts";
  RETURN NULL;
END $$;

-- An organization deleted takes its memberships with it, and its counts.
CREATE FUNCTION "org_member_counts_orgs_deleted"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM "org_member_counts" c USING old_orgs o WHERE c."org_id" = o."id";
  RETURN NULL;
END $$;

CREATE TRIGGER "org_member_counts_inserted" AFTER INSERT ON "org_memberships"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "org_member_counts_inserted"();
CREATE TRIGGER "org_member_counts_deleted" AFTER DELETE ON "org_memberships"
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION "org_member_counts_deleted"();
CREATE TRIGGER "org_member_counts_updated" AFTER UPDATE ON "org_memberships"
  REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "org_member_counts_updated"();
CREATE TRIGGER "org_member_counts_truncated" AFTER TRUNCATE ON "org_memberships"
  FOR EACH STATEMENT EXECUTE FUNCTION "org_member_counts_truncated"();
CREATE TRIGGER "org_member_counts_orgs_deleted" AFTER DELETE ON "organizations"
  REFERENCING OLD TABLE AS old_orgs FOR EACH STATEMENT EXECUTE FUNCTION "org_member_counts_orgs_deleted"();

-- The memberships already there.
INSERT INTO "org_member_counts" ("org_id", "role", "status", "is_active", "delta")
  SELECT "org_id", "role", "status", "is_active", count(*) FROM "org_memberships" GROUP BY 1, 2, 3, 4;
