-- DropIndex
DROP INDEX "users_email_trgm_idx";

-- DropIndex
DROP INDEX "users_first_name_trgm_idx";

-- DropIndex
DROP INDEX "users_last_name_trgm_idx";

-- CreateIndex
CREATE INDEX "org_memberships_sort_email_trgm_idx" ON "org_memberships" USING GIN ("sort_email" gin_trgm_ops);

-- CreateIndex
CREATE INDEX "org_memberships_sort_name_trgm_idx" ON "org_memberships" USING GIN ("sort_name" gin_trgm_ops);
