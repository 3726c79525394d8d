// Safe retries of a write (IETF httpapi-idempotency-key-header draft). The first answer to a
// request with an Idempotency-Key is stored for 24 h in idempotency_keys, scoped to the caller;
// a retry with the same key and the same request gets that answer again, a different request
// under the key answers 422, and a retry while the first is still running answers 409.
//
// How a key is held (docs/idempotency.md says why):
// 1. Claim: INSERT ... ON CONFLICT DO NOTHING, autocommitted on its own, so the key exists for
//    everyone at once; an existing key is read without a lock. Its fingerprint differs: 422; it
//    is done: its answer is replayed; it is in progress or expired: on to 2.
// 2. The write's transaction locks the key's row (FOR UPDATE SKIP LOCKED): a row another
//    transaction holds is a request still running, answered 409 at once, never waited for. The
//    lock is held until the transaction ends, so "running" is never a guess, and a crash or a
//    5xx rolls back and frees the key for a retry, with no lease to time out.
// 3. Under a savepoint, the write runs. Done: the answer is stored in the same transaction, so a
//    stored answer and the write it describes commit together or not at all. Refused (4xx): the
//    savepoint is rolled back and the refusal stored, so a retry is refused the same way.
import type { ErrorName } from "@roster/contract";
import { type Db, Prisma } from "@roster/db";
import type { Caller } from "../auth/caller";
import { AppError, IdempotencyKeyInUseError, IdempotencyKeyReusedError, ReplayedError } from "../errors";
import { requestFingerprint } from "../idempotency-key";

/** How long a key and its answer are kept. */
export const IDEMPOTENCY_KEY_TTL_HOURS = 24;
/** The largest answer body kept (a 200 of MAX_BULK_DELETE = 1000 memberships is about 0.5 MB). */
export const MAX_STORED_ANSWER_BYTES = 16 * 1024 * 1024;
/** The most expired keys one claim deletes. */
export const KEY_PURGE_LIMIT = 100;

type Tx = Prisma.TransactionClient;

/** A write's key, with what it is bound to. */
export interface IdempotentRequest {
  key: string;
  caller: Caller;
  /** The tRPC procedure (the REST route calls the same one). */
  operation: string;
  /** The parsed input, organization id included. */
  input: unknown;
  /** This request's id: stored with the answer, so replays carry the id of the request that made it. */
  reqId: string;
  /** Told the original request id when the answer is a replay. */
  onReplay(originalReqId: string): void;
}

interface KeyRow {
  id: string;
  fingerprint: string;
  status: "in_progress" | "done";
  responseStatus: number | null;
  responseBody: string | null;
  requestId: string;
  expired: boolean;
}

/** A stored refusal: what the envelope (and tRPC's error data) carries. */
interface StoredError {
  error: ErrorName;
  message: string;
  details?: unknown;
}

const KEY_COLUMNS = Prisma.sql`id, fingerprint, status, response_status AS "responseStatus",
  response_body AS "responseBody", request_id AS "requestId", expires_at <= now() AS expired`;

const callerKey = (caller: Caller) =>
  caller.kind === "user" ? { kind: "user", id: caller.userId } : { kind: "identity", id: caller.identityId };

function whereKey(req: IdempotentRequest): Prisma.Sql {
  const c = callerKey(req.caller);
  return Prisma.sql`caller_kind = ${c.kind} AND caller_id = ${c.id}::uuid AND key = ${req.key}`;
}

/**
 * Step 1: the key's row, inserted in progress if there was none. The same statement deletes a
 * bounded number of other callers' expired keys (SKIP LOCKED: never waits); an expired row of this
 * key is kept, to be taken over under its lock.
 */
async function claim(prisma: Db, req: IdempotentRequest, fingerprint: string): Promise<KeyRow | null> {
  const c = callerKey(req.caller);
  const [inserted] = await prisma.$queryRaw<KeyRow[]>`
    WITH purged AS (
      DELETE FROM idempotency_keys WHERE id IN (
        SELECT id FROM idempotency_keys WHERE expires_at <= now() AND NOT (${whereKey(req)})
        ORDER BY expires_at LIMIT ${KEY_PURGE_LIMIT} FOR UPDATE SKIP LOCKED)
    )
    INSERT INTO idempotency_keys (caller_kind, caller_id, key, org_id, fingerprint, request_id, expires_at)
    VALUES (${c.kind}, ${c.id}::uuid, ${req.key}, ${req.caller.organizationId}::uuid, ${fingerprint}, ${req.reqId},
            now() + make_interval(hours => ${IDEMPOTENCY_KEY_TTL_HOURS}::int))
    ON CONFLICT (caller_kind, caller_id, key) DO NOTHING
    RETURNING ${KEY_COLUMNS}`;
  if (inserted) return inserted;
  const [existing] = await prisma.$queryRaw<
    KeyRow[]
  >`SELECT ${KEY_COLUMNS} FROM idempotency_keys WHERE ${whereKey(req)}`;
  return existing ?? null;
}

/** The stored answer again: a 200's data, or its refusal thrown. */
function replay<T>(req: IdempotentRequest, row: KeyRow): T {
  req.onReplay(row.requestId);
  const status = row.responseStatus ?? 500;
  if (status === 200 && row.responseBody !== null) return JSON.parse(row.responseBody) as T;
  if (status === 200) {
    // Only an answer over MAX_STORED_ANSWER_BYTES is kept without its body.
    throw new ReplayedError({
      status: 409,
      error: "Conflict",
      message: `The request with this Idempotency-Key succeeded (${row.requestId}), but its answer was too large to keep. Its audit events carry that request id.`,
    });
  }
  const stored = JSON.parse(row.responseBody ?? "{}") as StoredError;
  throw new ReplayedError({ status, ...stored });
}

type Outcome<T> = { kind: "done"; value: T } | { kind: "refused"; error: AppError } | { kind: "gone" };

/** Step 2 and 3, in one transaction. */
async function runLocked<T>(
  tx: Tx,
  req: IdempotentRequest,
  fingerprint: string,
  work: (tx: Tx) => Promise<T>,
): Promise<Outcome<T> | { kind: "replay"; row: KeyRow }> {
  const [row] = await tx.$queryRaw<KeyRow[]>`
    SELECT ${KEY_COLUMNS} FROM idempotency_keys WHERE ${whereKey(req)} FOR UPDATE SKIP LOCKED`;
  if (!row) {
    const [held] = await tx.$queryRaw<{ n: number }[]>`
      SELECT count(*)::int AS n FROM idempotency_keys WHERE ${whereKey(req)}`;
    if ((held?.n ?? 0) > 0) throw new IdempotencyKeyInUseError();
    return { kind: "gone" };
  }
  if (row.expired) {
    // Past its 24 h: the key is free, and this request takes it over.
    await tx.$executeRaw`
      UPDATE idempotency_keys SET fingerprint = ${fingerprint}, status = 'in_progress', response_status = NULL,
        response_body = NULL, org_id = ${req.caller.organizationId}::uuid, request_id = ${req.reqId},
        created_at = now(), expires_at = now() + make_interval(hours => ${IDEMPOTENCY_KEY_TTL_HOURS}::int)
      WHERE id = ${row.id}::uuid`;
  } else if (row.fingerprint !== fingerprint) {
    throw new IdempotencyKeyReusedError();
  } else if (row.status === "done") {
    return { kind: "replay", row };
  }
  // In progress and unlocked: claimed by this request just now, or left by one that failed.
  await tx.$executeRaw`SAVEPOINT idempotent_write`;
  let value: T;
  try {
    value = await work(tx);
  } catch (err) {
    if (!(err instanceof AppError) || err.status >= 500) throw err;
    // A refusal wrote nothing that stays; it is the answer a retry gets too.
    await tx.$executeRaw`ROLLBACK TO SAVEPOINT idempotent_write`;
    const stored: StoredError = {
      error: err.errorName,
      message: err.message,
      ...(err.details !== undefined ? { details: err.details } : {}),
    };
    await store(tx, row.id, req.reqId, err.status, JSON.stringify(stored));
    return { kind: "refused", error: err };
  }
  const body = JSON.stringify(value);
  await store(tx, row.id, req.reqId, 200, Buffer.byteLength(body) <= MAX_STORED_ANSWER_BYTES ? body : null);
  return { kind: "done", value };
}

function store(tx: Tx, id: string, reqId: string, status: number, body: string | null) {
  return tx.$executeRaw`
    UPDATE idempotency_keys SET status = 'done', response_status = ${status}, response_body = ${body},
      request_id = ${reqId}
    WHERE id = ${id}::uuid`;
}

/**
 * Runs `work` (a write that touches the database only through the transaction it is given) under
 * the request's Idempotency-Key: once, however often it is retried within 24 h. `replayed` says
 * the value is a stored answer (work did not run). Refusals (4xx) are thrown, stored or replayed
 * alike; 422 and 409 as described above.
 */
export async function idempotentTransaction<T>(
  prisma: Db,
  req: IdempotentRequest,
  work: (tx: Tx) => Promise<T>,
  options: { maxWait: number; timeout: number },
): Promise<{ value: T; replayed: boolean }> {
  const fingerprint = requestFingerprint(req.operation, req.input);
  // A key's row can go between the claim and the lock only when it had expired and another
  // caller's claim purged it; then claiming again inserts it afresh.
  for (let attempt = 0; attempt < 3; attempt++) {
    const row = await claim(prisma, req, fingerprint);
    if (row && !row.expired) {
      if (row.fingerprint !== fingerprint) throw new IdempotencyKeyReusedError();
      if (row.status === "done") return { value: replay<T>(req, row), replayed: true };
    }
    if (!row) continue;
    const outcome = await prisma.$transaction((tx) => runLocked(tx, req, fingerprint, work), options);
    if (outcome.kind === "gone") continue;
    if (outcome.kind === "replay") return { value: replay<T>(req, outcome.row), replayed: true };
    if (outcome.kind === "refused") throw outcome.error;
    return { value: outcome.value, replayed: false };
  }
  // Purged three times over: as good as a request still running, and as safe to retry.
  throw new IdempotencyKeyInUseError();
}
