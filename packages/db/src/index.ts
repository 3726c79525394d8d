export { getDb, openDb, pgAdapter, PrismaClient, type Db, type DbHandle, type DbTarget, type ClientOptions } from "./client";
export { readLock, startEmbeddedServer, type EmbeddedServer } from "./embedded";
export * from "./generated/prisma/enums";
export { Prisma } from "./generated/prisma/client";
export { fromDbRole, toDbRole } from "./roles";
