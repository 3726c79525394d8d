-- DropIndex
DROP INDEX "org_memberships_org_id_idx";
