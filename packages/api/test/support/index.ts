// What test files of every package share (imported as @roster/api/testing): the run's database
// (see apps/web/test/global-setup.ts), a reseed that returns the demo manifest, lookups into that
// manifest, the machine's Redis; and, in their own modules, the contract's texts
// (./contract.ts), tokens and request ids (./tokens.ts) and command-line runs (./commands.ts).
import { getConfig } from "@roster/config";
import type { DemoManifest, ManifestIdentity, ManifestMember, ManifestOrganization } from "@roster/contract";
import { type ClientOptions, type Db, type DbHandle, openDb } from "@roster/db";
import { seedDemoData } from "@roster/db/seed";
import { Redis } from "ioredis";
import { afterAll, inject } from "vitest";
import { buildManifest } from "../../src/services/demo-manifest";

export { type Finished, runCommand } from "./commands";
export { badUuid, DELETED_EVENT, issue, MAX_BULK_DELETE, MiB, MSG, RATE_LIMITED } from "./contract";
export { claimsOf, newReqId, REQ_ID, REQ_ID_TEXT } from "./tokens";

declare module "vitest" {
  export interface ProvidedContext {
    baseUrl: string;
    databaseUrl: string;
    databaseKind: "postgres" | "embedded";
    artifactsDir: string;
  }
}

let handle: Promise<DbHandle> | undefined;

/** The run's database as the server opens it, with prepared statements (on either kind). */
const runDatabase = () => ({ kind: "postgres", url: inject("databaseUrl"), preparedStatements: true }) as const;

/** The run's database, opened once per test file and closed after it. */
export function testDb(): Promise<Db> {
  if (!handle) {
    handle = openDb(runDatabase());
    afterAll(async () => (await handle)?.close());
  }
  return handle.then((h) => h.prisma);
}

/** A separate client on the run's database (for counting statements, say); the caller closes it. */
export function openTestDb(opts: ClientOptions = {}): Promise<DbHandle> {
  return openDb(runDatabase(), opts);
}

export const baseUrl = (): string => inject("baseUrl");

/** Writes the demo data afresh (in the run's database, or the one given) and returns its manifest, with fresh tokens. */
export async function reseed(db?: Db): Promise<DemoManifest> {
  const prisma = db ?? (await testDb());
  return buildManifest(prisma, getConfig().authSecret, await seedDemoData(prisma));
}

export function orgOf(manifest: DemoManifest, slug: string): ManifestOrganization {
  const org = manifest.organizations.find((o) => o.slug === slug);
  if (!org) throw new Error(`no organization ${slug} in the manifest`);
  return org;
}

export function memberOf(manifest: DemoManifest, slug: string, email: string): ManifestMember {
  const m = orgOf(manifest, slug).members.find((x) => x.email === email);
  if (!m) throw new Error(`no member ${email} in ${slug}`);
  return m;
}

/** A machine identity of the demo data (its credentials included), by name. */
export function identityOf(manifest: DemoManifest, slug: string, name: string): ManifestIdentity {
  const found = orgOf(manifest, slug).identities.find((i) => i.name === name);
  if (!found) throw new Error(`no identity ${name} in ${slug}`);
  return found;
}

export function tokenOf(manifest: DemoManifest, slug: string, email: string): string {
  const token = memberOf(manifest, slug, email).accessToken;
  if (!token) throw new Error(`${email} in ${slug} has no token`);
  return token;
}

/** The machine's Redis for tests (and CI's): TEST_REDIS_URL, else the local one. */
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";

/**
 * Whether TEST_REDIS_URL answers. Without it, outside CI, the caller's Redis tests are skipped
 * with a loud line naming `what`; under CI=true a missing Redis is a failure, never a skip.
 */
export async function probeTestRedis(what: string): Promise<boolean> {
  const probe = new Redis(TEST_REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  let up = false;
  try {
    await probe.connect();
    up = (await probe.ping()) === "PONG";
  } catch {
    up = false;
  } finally {
    probe.disconnect();
  }
  if (!up && process.env.CI === "true") throw new Error(`CI=true but Redis at ${TEST_REDIS_URL} does not answer`);
  if (!up) console.warn(`!! ${what} SKIPPED: no Redis at ${TEST_REDIS_URL}`);
  return up;
}
