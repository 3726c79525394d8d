-- AlterTable
ALTER TABLE "org_memberships" ADD COLUMN     "sort_email" TEXT,
ADD COLUMN     "sort_name" TEXT;

-- The member list's sort keys, kept by the database itself: a membership takes them from its
-- user (or its invite) when it is written, and a user's change of email or name is carried to
-- every membership of that user. The expressions are the list's orders (services/list-memberships.ts).
CREATE FUNCTION "org_memberships_sort_keys"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  SELECT lower(coalesce(u.email, NEW.invite_email)),
         lower(coalesce(nullif(trim(coalesce(u.first_name, '') || ' ' || coalesce(u.last_name, '')), ''), u.email))
    INTO NEW.sort_email, NEW.sort_name
    FROM (SELECT 1) AS one LEFT JOIN "users" u ON u.id = NEW.user_id;
  RETURN NEW;
END $$;

CREATE TRIGGER "org_memberships_sort_keys" BEFORE INSERT OR UPDATE OF "user_id", "invite_email", "sort_email", "sort_name"
  ON "org_memberships" FOR EACH ROW EXECUTE FUNCTION "org_memberships_sort_keys"();

CREATE FUNCTION "users_sort_keys"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- Setting user_id to itself fires the memberships' trigger, which reads the user anew.
  UPDATE "org_memberships" SET "user_id" = "user_id" WHERE "user_id" = NEW.id;
  RETURN NULL;
END $$;

CREATE TRIGGER "users_sort_keys" AFTER UPDATE OF "email", "first_name", "last_name" ON "users" FOR EACH ROW
  WHEN (OLD.email IS DISTINCT FROM NEW.email OR OLD.first_name IS DISTINCT FROM NEW.first_name
        OR OLD.last_name IS DISTINCT FROM NEW.last_name)
  EXECUTE FUNCTION "users_sort_keys"();

-- The memberships already there.
UPDATE "org_memberships" SET "user_id" = "user_id";

-- CreateIndex
CREATE INDEX "org_memberships_org_id_sort_email_id_idx" ON "org_memberships"("org_id", "sort_email", "id");

-- CreateIndex
CREATE INDEX "org_memberships_org_id_sort_name_id_idx" ON "org_memberships"("org_id", "sort_name", "id");
