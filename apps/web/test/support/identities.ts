// Machine identities over the wire: Universal Auth login, renew and revoke over HTTP, the error
// envelope those routes answer with, and identities made for a test (over tRPC, as acme's admin).
import { randomUUID } from "node:crypto";
import { identityOf, REQ_ID } from "@roster/api/testing";
import type { CreateIdentityInput, ManifestIdentity } from "@roster/contract";
import { expect } from "vitest";
import { ADMIN, type Fx } from "./fixtures";
import { JSON_CONTENT_TYPE, membershipsPath, sendJson } from "./http";
import { type TrpcCaller, trpcCallerFor } from "./surfaces";

export const LOGIN = "/api/v1/auth/universal-auth/login";
export const RENEW = "/api/v1/auth/token/renew";
export const REVOKE = "/api/v1/auth/token/revoke";
/** The user agent of every request `send` makes (the login records it). */
export const IDENTITY_TEST_AGENT = "roster-identities-test";
export const TOKEN_RESPONSE_KEYS = ["accessToken", "accessTokenMaxTTL", "expiresIn", "tokenType"];
const ENVELOPE_KEYS = ["error", "message", "reqId", "statusCode"];
/** An address a client may claim (not believed: tests run without TRUST_PROXY). */
const SPOOFED = "10.1.2.3";
/** The ways a client may claim an address, and none: each must leave the peer address in charge. */
export const SPOOFING_HEADERS: Record<string, string>[] = [
  {},
  { "x-forwarded-for": SPOOFED },
  { "x-forwarded-for": `${SPOOFED}, 127.0.0.1` },
  { "x-roster-peer-ip": SPOOFED },
];

/** An answer of the auth routes: always a JSON object. */
export interface Res {
  status: number;
  headers: Headers;
  body: Record<string, unknown>;
}

/**
 * A request to the app's 127.0.0.1 (so that the peer address the server sees is known, and a
 * trusted range of 127.0.0.0/8 holds), as `IDENTITY_TEST_AGENT`. An answer that is not JSON fails.
 */
export async function send(
  method: string,
  path: string,
  opts: { json?: unknown; form?: Record<string, string>; headers?: Record<string, string>; bearer?: string } = {},
): Promise<Res> {
  const res = await sendJson(method, path, {
    ...opts,
    headers: { "user-agent": IDENTITY_TEST_AGENT, ...opts.headers },
    ipv4: true,
  });
  if (res.body === undefined)
    throw new Error(`${method} ${path} answered ${res.status} with no JSON: ${res.text.slice(0, 200)}`);
  return { status: res.status, headers: res.headers, body: res.body as Record<string, unknown> };
}

export const login = (clientId: string, clientSecret: string, headers: Record<string, string> = {}) =>
  send("POST", LOGIN, { json: { clientId, clientSecret }, headers });

/** Logs in and returns the access token (the login must succeed). */
export async function tokenFor(creds: { clientId: string; clientSecret: string }): Promise<string> {
  const res = await login(creds.clientId, creds.clientSecret);
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  return res.body.accessToken as string;
}

/** Logs a machine identity in (Universal Auth) and returns `Bearer <access token>`. */
export const identityBearer = async (creds: { clientId: string; clientSecret: string }): Promise<string> =>
  `Bearer ${await tokenFor(creds)}`;

export const listOverRest = (orgId: string, token: string, headers: Record<string, string> = {}) =>
  send("GET", membershipsPath(orgId), { bearer: token, headers });

/** The error envelope of a REST failure, checked for its status, name, message and shape. */
export function expectEnvelope(
  res: Pick<Res, "status" | "headers" | "body">,
  status: number,
  error: string,
  message: unknown,
) {
  expect({ status: res.status, error: res.body.error, message: res.body.message }).toEqual({ status, error, message });
  expect(res.body.statusCode).toBe(status);
  expect(res.body.reqId).toMatch(REQ_ID);
  expect(res.headers.get("x-request-id")).toBe(res.body.reqId);
  expect(res.headers.get("content-type")).toBe(JSON_CONTENT_TYPE);
  const keys = [...ENVELOPE_KEYS, ...(res.body.details !== undefined ? ["details"] : [])];
  expect(Object.keys(res.body).sort()).toEqual(keys.sort());
}

/** The demo's admin identity, with its credentials. */
export const deprovisioner = (fx: Fx): ManifestIdentity => identityOf(fx.manifest, "acme", "deprovisioner");

/** A tRPC caller with a bare access token (an identity's or a user's), from `ip` when given. */
export const trpcAs = (token: string, opts: { ip?: string | null; reqId?: string } = {}): Promise<TrpcCaller> =>
  trpcCallerFor(`Bearer ${token}`, { ...opts, userAgent: `${IDENTITY_TEST_AGENT}/trpc` });

export interface MadeIdentity {
  identityId: string;
  membershipId: string;
  name: string;
  clientId: string;
  clientSecret: string;
  clientSecretId: string;
}

/** An identity in acme made by admin@acme.test over tRPC, with one client secret. */
export async function makeIdentity(
  fx: Fx,
  input: Omit<CreateIdentityInput, "organizationId" | "name"> & { name?: string },
  secret: { ttl?: number; numUsesLimit?: number } = {},
): Promise<MadeIdentity> {
  const admin = await trpcCallerFor(fx.bearer(ADMIN));
  const name = input.name ?? `robot-${randomUUID().slice(0, 8)}`;
  const identity = await admin.identities.create({ organizationId: fx.acme.id, ...input, name });
  const created = await admin.identities.createClientSecret({
    organizationId: fx.acme.id,
    identityId: identity.id,
    ...secret,
  });
  return {
    identityId: identity.id,
    membershipId: identity.membershipId,
    name,
    clientId: identity.clientId,
    clientSecret: created.clientSecret,
    clientSecretId: created.secret.id,
  };
}
