-- CreateIndex
CREATE INDEX "org_memberships_org_id_created_at_id_idx" ON "org_memberships"("org_id", "created_at", "id");
