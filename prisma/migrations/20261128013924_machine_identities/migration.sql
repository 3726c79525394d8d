-- AlterTable
ALTER TABLE "audit_events" ADD COLUMN     "actor_identity_id" UUID;

-- CreateTable
CREATE TABLE "identities" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "org_id" UUID NOT NULL,
    "name" TEXT NOT NULL,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "identities_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "identity_org_memberships" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "org_id" UUID NOT NULL,
    "identity_id" UUID NOT NULL,
    "role" "OrgRole" NOT NULL DEFAULT 'no-access',
    "role_id" UUID,
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "identity_org_memberships_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "identity_universal_auths" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "identity_id" UUID NOT NULL,
    "client_id" TEXT NOT NULL,
    "access_token_ttl" INTEGER NOT NULL DEFAULT 3600,
    "access_token_max_ttl" INTEGER NOT NULL DEFAULT 86400,
    "access_token_num_uses_limit" INTEGER NOT NULL DEFAULT 0,
    "client_secret_trusted_ips" TEXT[],
    "access_token_trusted_ips" TEXT[],
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "identity_universal_auths_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "identity_client_secrets" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "identity_id" UUID NOT NULL,
    "description" TEXT NOT NULL DEFAULT '',
    "secret_prefix" TEXT NOT NULL,
    "secret_hash" TEXT NOT NULL,
    "ttl" INTEGER NOT NULL DEFAULT 0,
    "num_uses" INTEGER NOT NULL DEFAULT 0,
    "num_uses_limit" INTEGER NOT NULL DEFAULT 0,
    "is_revoked" BOOLEAN NOT NULL DEFAULT false,
    "last_used_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "identity_client_secrets_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "identity_access_tokens" (
    "id" UUID NOT NULL DEFAULT gen_random_uuid(),
    "identity_id" UUID NOT NULL,
    "client_secret_id" UUID,
    "ttl" INTEGER NOT NULL,
    "max_ttl" INTEGER NOT NULL,
    "num_uses" INTEGER NOT NULL DEFAULT 0,
    "num_uses_limit" INTEGER NOT NULL DEFAULT 0,
    "is_revoked" BOOLEAN NOT NULL DEFAULT false,
    "ip" TEXT,
    "user_agent" TEXT,
    "last_used_at" TIMESTAMPTZ(3),
    "last_renewed_at" TIMESTAMPTZ(3),
    "created_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMPTZ(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "identity_access_tokens_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "identities_org_id_idx" ON "identities"("org_id");

-- CreateIndex
CREATE UNIQUE INDEX "identities_org_id_name_key" ON "identities"("org_id", "name");

-- CreateIndex
CREATE UNIQUE INDEX "identity_org_memberships_identity_id_key" ON "identity_org_memberships"("identity_id");

-- CreateIndex
CREATE INDEX "identity_org_memberships_org_id_idx" ON "identity_org_memberships"("org_id");

-- CreateIndex
CREATE UNIQUE INDEX "identity_universal_auths_identity_id_key" ON "identity_universal_auths"("identity_id");

-- CreateIndex
CREATE UNIQUE INDEX "identity_universal_auths_client_id_key" ON "identity_universal_auths"("client_id");

-- CreateIndex
CREATE UNIQUE INDEX "identity_client_secrets_secret_hash_key" ON "identity_client_secrets"("secret_hash");

-- CreateIndex
CREATE INDEX "identity_client_secrets_identity_id_idx" ON "identity_client_secrets"("identity_id");

-- CreateIndex
CREATE INDEX "identity_access_tokens_identity_id_idx" ON "identity_access_tokens"("identity_id");

-- AddForeignKey
ALTER TABLE "audit_events" ADD CONSTRAINT "audit_events_actor_identity_id_fkey" FOREIGN KEY ("actor_identity_id") REFERENCES "identities"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "identities" ADD CONSTRAINT "identities_org_id_fkey" FOREIGN KEY ("org_id") REFERENCES "organizations"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "identity_org_memberships" ADD CONSTRAINT "identity_org_memberships_org_id_fkey" FOREIGN KEY ("org_id") REFERENCES "organizations"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "identity_org_memberships" ADD CONSTRAINT "identity_org_memberships_identity_id_fkey" FOREIGN KEY ("identity_id") REFERENCES "identities"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "identity_org_memberships" ADD CONSTRAINT "identity_org_memberships_role_id_fkey" FOREIGN KEY ("role_id") REFERENCES "org_roles"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "identity_universal_auths" ADD CONSTRAINT "identity_universal_auths_identity_id_fkey" FOREIGN KEY ("identity_id") REFERENCES "identities"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "identity_client_secrets" ADD CONSTRAINT "identity_client_secrets_identity_id_fkey" FOREIGN KEY ("identity_id") REFERENCES "identities"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "identity_access_tokens" ADD CONSTRAINT "identity_access_tokens_identity_id_fkey" FOREIGN KEY ("identity_id") REFERENCES "identities"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "identity_access_tokens" ADD CONSTRAINT "identity_access_tokens_client_secret_id_fkey" FOREIGN KEY ("client_secret_id") REFERENCES "identity_client_secrets"("id") ON DELETE CASCADE ON UPDATE CASCADE;
