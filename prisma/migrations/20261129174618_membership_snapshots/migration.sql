-- CreateExtension
CREATE EXTENSION IF NOT EXISTS "pg_trgm";

-- CreateTable
CREATE TABLE "membership_snapshots" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "org_id" UUID NOT NULL,
    "batch_id" TEXT NOT NULL,
    "membership_id" UUID NOT NULL,
    "membership" JSONB NOT NULL,
    "project_memberships" JSONB NOT NULL DEFAULT '[]',
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "restored_at" TIMESTAMPTZ(3),
    "restored_by" TEXT,

    CONSTRAINT "membership_snapshots_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "membership_snapshots_org_id_batch_id_idx" ON "membership_snapshots"("org_id", "batch_id");

-- CreateIndex
CREATE INDEX "membership_snapshots_created_at_idx" ON "membership_snapshots"("created_at");

-- AddForeignKey
ALTER TABLE "membership_snapshots" ADD CONSTRAINT "membership_snapshots_org_id_fkey" FOREIGN KEY ("org_id") REFERENCES "organizations"("id") ON DELETE CASCADE ON UPDATE CASCADE;
