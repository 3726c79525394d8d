export {
  type ClientOptions,
  CONNECTION_TIMEOUT_MS,
  type Db,
  type DbHandle,
  type DbTarget,
  getDb,
  openDb,
  type PoolStats,
  PREPARED,
  PrismaClient,
  pgAdapter,
  poolStats,
  preparedName,
  QUERY_TIMEOUT_MS,
  queryRows,
} from "./client";
export { type EmbeddedServer, readLock, startEmbeddedServer } from "./embedded";
export {
  MAINTENANCE_INTERVAL_MS,
  type MaintenanceAction,
  type MaintenanceReport,
  maintainEmbedded,
} from "./embedded-maintenance";
export { Prisma } from "./generated/prisma/client";
export * from "./generated/prisma/enums";
export { fromDbRole, toDbRole } from "./roles";
export { hashClientSecret, newClientSecret } from "./secrets";
