// Roster drives Prisma migrations itself: Prisma's native migrate engine is not available here.
export { type ApplyMigrationsOptions, applyMigrations, type MigrationTarget } from "./apply-migrations";
export { createMigration, type DiffOptions, diffSchemaAgainstMigrations } from "./diff-schema";
export { checksumOf, MigrationError, type MigrationFile, readMigrations } from "./migrations-folder";
