import { defineConfig } from "prisma/config";

// The CLI is used only for `generate`, `validate` and `format` here: migrations are applied by
// packages/db's own runner (see packages/db/src/migrate). No datasource URL is needed for those.
export default defineConfig({
  schema: "prisma/schema.prisma",
  migrations: { path: "prisma/migrations" },
});
