import { defineConfig } from "vitest/config";

// One run: a fresh database (PostgreSQL when DATABASE_URL is set, else the embedded one), the
// built web app served once on it, and every test file against both (see apps/web/test/global-setup.ts).
export default defineConfig({
  test: {
    include: ["{apps,packages}/*/{src,test}/**/*.test.ts"],
    globalSetup: ["apps/web/test/global-setup.ts"],
    // Test files share the database and the server: one file at a time, each reseeding as it needs.
    fileParallelism: false,
    pool: "forks",
    testTimeout: 30_000,
    hookTimeout: 180_000,
    reporters: ["default"],
  },
});
