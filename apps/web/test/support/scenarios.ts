// Scenario tables: rows of the contract's table (who calls, with what, and what must come back),
// each run through both surfaces by `describeScenarios`, with the runner that checks every row:
// a failure answers the contract's error and changes nothing; a 200 removes exactly what it names.
import { claimsOf, DELETED_EVENT, MSG, REQ_ID, testDb } from "@roster/api/testing";
import type { ValidationIssue } from "@roster/contract";
import type { Db } from "@roster/db";
import { describe, expect, it } from "vitest";
import { type Fx, Seeded } from "./fixtures";
import {
  allowedMethods,
  ISO_MS,
  JSON_CONTENT_TYPE,
  membershipsPath,
  type Outcome,
  type RawRequest,
  restOutcome,
  sendRaw,
} from "./http";
import { type DbState, dbState, expectedMembership, MEMBERSHIP_KEYS, unchangedProbe } from "./snapshots";
import { restHeaders, SURFACES, type Surface } from "./surfaces";

export type Fn<T> = (fx: Fx) => T;

export interface ErrorExpect {
  status: number;
  error: string;
  message: string | ValidationIssue[] | Fn<string | ValidationIssue[]>;
  /** Asserted when given; otherwise the answer must carry none. */
  details?: unknown;
}

export interface SuccessExpect {
  status: 200;
  /** The membership ids the response lists, in this order (the ids first given, once each). */
  removed: Fn<string[]>;
  /** How many project memberships go with them, when the row pins it. */
  projectMembershipsGone?: number;
}

export interface Scenario {
  name: string;
  /** Rows about the HTTP request itself (body bytes, headers, methods, paths). */
  restOnly?: true;
  /** Changes the data before the request (the next row starts from a fresh seed). */
  setup?: (fx: Fx, db: Db) => Promise<void>;
  /** The Authorization header; may make a token (sessions only, never rows the table looks at). */
  as: (fx: Fx, db: Db) => string | null | Promise<string | null>;
  /** The path's organization id (acme by default). */
  org?: Fn<string>;
  /** The body's ids (the body is then `{ membershipIds }`). */
  ids?: Fn<string[]>;
  /** The whole body, for rows about its shape. */
  body?: Fn<unknown>;
  /** REST-only rows: the HTTP request as sent. */
  request?: (fx: Fx, authorization: string | null, orgId: string) => RawRequest;
  expect: ErrorExpect | SuccessExpect;
}

export const as =
  (email: string, org: "acme" | "globex" = "acme") =>
  (fx: Fx) =>
    fx.bearer(email, org);
export const idsOf =
  (...emails: string[]) =>
  (fx: Fx) =>
    emails.map((e) => fx.id(e));
export const acmeId = (fx: Fx) => fx.acme.id;
export const jsonRequest =
  (
    body: string | Uint8Array<ArrayBuffer>,
    contentType: string | null = "application/json",
    path = (orgId: string) => membershipsPath(orgId),
  ) =>
  (_fx: Fx, authorization: string | null, orgId: string): RawRequest => ({
    method: "DELETE",
    path: path(orgId),
    headers: restHeaders(authorization, contentType === null ? {} : { "content-type": contentType }),
    body,
  });

/** `{"membershipIds":[]}` padded with white space to exactly `bytes` bytes. */
export const paddedEmptyBody = (bytes: number) => {
  const json = '{"membershipIds":[]}';
  return `${json}${" ".repeat(bytes - json.length)}`;
};

export const methodNotAllowed = (method: string): Scenario => ({
  name: `6/405: ${method} is not allowed, before any other check`,
  restOnly: true,
  as: () => null,
  request: (_fx, _auth, orgId) => ({
    method,
    path: membershipsPath(orgId),
    headers: restHeaders(null, { "content-type": "application/json" }),
    body: "{",
  }),
  expect: { status: 405, error: "MethodNotAllowed", message: `Method ${method} is not allowed on this route` },
});

// ---------------------------------------------------------------------------------------------
// Running a row

const isSuccess = (e: ErrorExpect | SuccessExpect): e is SuccessExpect => e.status === 200;

/** What every REST answer carries: the JSON type, a request id, and for a failure the envelope. */
function expectRestWire(outcome: Outcome, expected: ErrorExpect | SuccessExpect) {
  const http = outcome.http;
  if (!http) throw new Error("a REST outcome without its response");
  expect(http.headers.get("content-type")).toBe(JSON_CONTENT_TYPE);
  expect(outcome.reqId).toMatch(REQ_ID);
  if (isSuccess(expected)) {
    expect(http.headers.get("www-authenticate")).toBeNull();
    return;
  }
  const env = http.body as Record<string, unknown>;
  const keys = ["error", "message", "reqId", "statusCode"];
  if (expected.details !== undefined) keys.push("details");
  expect(Object.keys(env).sort()).toEqual(keys.sort());
  expect(env.reqId).toBe(outcome.reqId);
  expect(env.statusCode).toBe(http.status);
  const www = http.headers.get("www-authenticate");
  if (http.status !== 401) expect(www).toBeNull();
  else expect(www).toBe(expected.message === MSG.tokenMissing ? "Bearer" : 'Bearer error="invalid_token"');
  if (http.status === 405) {
    expect(allowedMethods(http.headers)).toEqual(["DELETE", "GET"]);
  }
}

function expectFailure(outcome: Outcome, expected: ErrorExpect, fx: Fx) {
  const message = typeof expected.message === "function" ? expected.message(fx) : expected.message;
  expect({ status: outcome.status, error: outcome.error, message: outcome.message }).toEqual({
    status: expected.status,
    error: expected.error,
    message,
  });
  if (expected.details !== undefined) expect(outcome.details).toEqual(expected.details);
  else expect(outcome.details).toBeUndefined();
  expect(outcome.data).toBeUndefined();
}

const differing = <V>(a: Map<string, V>, b: Map<string, V>) =>
  [...a.keys()].filter((k) => JSON.stringify(a.get(k)) !== JSON.stringify(b.get(k)));

async function expectRemoved(
  db: Db,
  surface: Surface,
  outcome: Outcome,
  before: DbState,
  opts: { removed: string[]; orgId: string; actorId: string; projectMembershipsGone?: number },
) {
  const { removed, orgId } = opts;
  expect(outcome.status, JSON.stringify(outcome.http?.body ?? outcome.message)).toBe(200);

  // The response: exactly the removed rows, the contract's 14 keys each, in the order first given.
  const data = outcome.data as { memberships: Record<string, unknown>[] };
  expect(Object.keys(data)).toEqual(["memberships"]);
  expect(data.memberships.map((m) => m.id)).toEqual(removed);
  for (const m of data.memberships) {
    expect(Object.keys(m).sort()).toEqual([...MEMBERSHIP_KEYS]);
    for (const key of ["createdAt", "updatedAt"]) expect(m[key]).toMatch(ISO_MS);
    for (const key of ["lastInvitedAt", "lastLoginTime"]) if (m[key] !== null) expect(m[key]).toMatch(ISO_MS);
    expect(Array.isArray(m.projectFavorites)).toBe(true);
  }
  const targets = removed.map((id) => {
    const row = before.memberships.get(id);
    if (!row) throw new Error(`${id} was not there before`);
    return row;
  });
  expect(data.memberships).toEqual(targets.map(expectedMembership));

  const after = await dbState(db);
  // Exactly those memberships are gone; every other row is as it was.
  const keptMemberships = new Map(before.memberships);
  for (const id of removed) keptMemberships.delete(id);
  expect([...after.memberships.keys()].sort()).toEqual([...keptMemberships.keys()].sort());
  expect(differing(keptMemberships, after.memberships)).toEqual([]);

  // Their project memberships in this organization's projects are gone, with their role rows.
  const goneUsers = new Set(targets.flatMap((t) => (t.userId ? [t.userId] : [])));
  const keptPms = new Map(
    [...before.projectMemberships].filter(([, pm]) => !(pm.orgId === orgId && goneUsers.has(pm.userId))),
  );
  expect([...after.projectMemberships.keys()].sort()).toEqual([...keptPms.keys()].sort());
  expect(differing(keptPms, after.projectMemberships)).toEqual([]);
  if (opts.projectMembershipsGone !== undefined) {
    expect(before.projectMemberships.size - after.projectMemberships.size).toBe(opts.projectMembershipsGone);
  }
  const keptRoles = new Map([...before.projectMembershipRoles].filter(([, pmId]) => keptPms.has(pmId)));
  expect(after.projectMembershipRoles).toEqual(keptRoles);

  // User rows stay, and so do machine identities' memberships.
  expect(after.users).toEqual(before.users);
  expect(after.identityMemberships).toEqual(before.identityMemberships);

  // One audit event per removed membership, sharing the request id as the batch.
  const newIds = [...after.auditEventIds].filter((id) => !before.auditEventIds.has(id));
  const events = await db.auditEvent.findMany({ where: { id: { in: newIds } } });
  expect(events).toHaveLength(removed.length);
  expect(events.map((e) => e.targetId).sort()).toEqual([...removed].sort());
  const byTarget = new Map(targets.map((t) => [t.id, t]));
  for (const e of events) {
    const t = byTarget.get(e.targetId as string) as (typeof targets)[number];
    expect(e).toMatchObject({
      orgId,
      actorType: "user",
      actorId: opts.actorId,
      eventType: DELETED_EVENT,
      targetType: "org_membership",
      batchId: outcome.reqId,
      ip: surface.origin.ip,
      userAgent: surface.origin.userAgent,
      metadata: {
        userId: t.userId,
        email: t.user?.email ?? t.inviteEmail,
        role: t.role === "no_access" ? "no-access" : t.role,
        status: t.status,
      },
    });
  }
}

/**
 * Runs every row through both surfaces (REST-only rows through REST alone), one test each. Rows
 * that fail change nothing, and share a seed; a row with a setup or a removal reseeds the next.
 */
export function describeScenarios(title: string, scenarios: readonly Scenario[]): void {
  describe.each(SURFACES)(`${title} over $name`, (surface) => {
    const seeded = new Seeded();
    const rows = scenarios.filter((row) => !row.restOnly || surface.name === "rest");

    it.each(rows)("$name", async (row) => {
      const db = await testDb();
      const fx = await seeded.get();
      if (row.setup) {
        seeded.dirty();
        await row.setup(fx, db);
      }
      const authorization = await row.as(fx, db);
      const orgId = (row.org ?? acmeId)(fx);
      const expected = row.expect;
      const success = isSuccess(expected);
      const beforeState = success ? await dbState(db) : null;
      const beforeProbe = success ? null : await unchangedProbe(db);

      let outcome: Outcome;
      if (row.request) {
        if (surface.name !== "rest") throw new Error("a raw request row must be REST-only");
        outcome = restOutcome(await sendRaw(row.request(fx, authorization, orgId)));
      } else {
        const body = row.body ? row.body(fx) : { membershipIds: row.ids ? row.ids(fx) : [] };
        outcome = await surface.bulkDelete({ authorization, orgId, body });
      }
      if (surface.name === "rest") expectRestWire(outcome, expected);
      else expect(outcome.reqId).toMatch(REQ_ID);

      if (success) {
        const removed = expected.removed(fx);
        if (removed.length > 0) seeded.dirty();
        const actorId = claimsOf(authorization as string).userId as string;
        await expectRemoved(db, surface, outcome, beforeState as DbState, {
          removed,
          orgId: orgId.toLowerCase(),
          actorId,
          projectMembershipsGone: expected.projectMembershipsGone,
        });
      } else {
        expectFailure(outcome, expected, fx);
        expect(await unchangedProbe(db)).toEqual(beforeProbe);
      }
    });
  });
}
