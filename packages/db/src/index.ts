export {
  type ClientOptions,
  type Db,
  type DbHandle,
  type DbTarget,
  getDb,
  openDb,
  PrismaClient,
  pgAdapter,
} from "./client";
export { type EmbeddedServer, readLock, startEmbeddedServer } from "./embedded";
export { Prisma } from "./generated/prisma/client";
export * from "./generated/prisma/enums";
export { fromDbRole, toDbRole } from "./roles";
export { hashClientSecret, newClientSecret } from "./secrets";
