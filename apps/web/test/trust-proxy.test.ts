// TRUST_PROXY behind a real chain of two reverse proxies (haproxy): the client's address is read
// from the right of X-Forwarded-For, past the trusted proxies, so an address the client writes
// there itself neither passes a trusted-IP range nor lands in the audit log. Both places where the
// address matters: Universal Auth's trusted ranges, and the audit events of a bulk delete (REST
// and tRPC over HTTP).
import { randomUUID } from "node:crypto";
import { DELETED_EVENT, memberOf, orgOf, reseed, testDb, tokenOf } from "@roster/api/testing";
import type { DemoManifest } from "@roster/contract";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  CHAIN,
  type HttpAnswer,
  request,
  skipProxyChainTests,
  startExtraServer,
  startProxyChain,
} from "./support/extra-server";
import { fixtures } from "./support/fixtures";
import { membershipsPath } from "./support/http";
import { makeIdentity } from "./support/identities";

const LOGIN = "/api/v1/auth/universal-auth/login";
const SPOOFED = "10.1.2.3";

let manifest: DemoManifest;
const acmeId = () => orgOf(manifest, "acme").id;
const adminToken = () => tokenOf(manifest, "acme", "admin@acme.test");

/** An identity in acme with one client secret that may log in only from `trustedIps`. */
async function identityFrom(trustedIps: string[]) {
  const { clientId, clientSecret } = await makeIdentity(fixtures(manifest), {
    name: `proxied-${randomUUID().slice(0, 8)}`,
    role: "member",
    universalAuth: { clientSecretTrustedIps: trustedIps },
  });
  return { clientId, clientSecret };
}

async function auditIpsOf(reqId: string): Promise<(string | null)[]> {
  const events = await (await testDb()).auditEvent.findMany({
    where: { batchId: reqId, eventType: DELETED_EVENT },
    select: { ip: true },
  });
  return events.map((e) => e.ip);
}

const reqIdOf = (res: HttpAnswer) => String(res.headers["x-request-id"] ?? "");

describe.skipIf(skipProxyChainTests).each([
  { setting: "2", what: "a hop count" },
  { setting: `${CHAIN.first}, ${CHAIN.second}/32`, what: "the proxies' addresses" },
])("TRUST_PROXY=$setting ($what), behind two haproxy hops", ({ setting, what }) => {
  let front: number;
  let direct: number;

  const stops: (() => Promise<unknown>)[] = [];

  beforeAll(async () => {
    manifest = await reseed();
    const server = await startExtraServer({ TRUST_PROXY: setting });
    stops.push(server.stop);
    direct = server.port;
    const chain = await startProxyChain(server.port);
    stops.push(chain.stop);
    front = chain.port;
  });

  afterAll(async () => {
    for (const stop of stops.reverse()) await stop();
  });

  /** Through both proxies, from CHAIN.client, with an X-Forwarded-For the client wrote itself. */
  const viaChain = (opts: Omit<Parameters<typeof request>[0], "port" | "from">) =>
    request({ ...opts, port: front, from: CHAIN.client, headers: { "x-forwarded-for": SPOOFED, ...opts.headers } });

  it("lets the client's real address pass its trusted range", async () => {
    const creds = await identityFrom([`${CHAIN.client}/32`]);
    const res = await viaChain({ method: "POST", path: LOGIN, json: creds });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
  });

  it("does not let an address the client wrote in X-Forwarded-For pass a trusted range", async () => {
    const creds = await identityFrom(["10.0.0.0/8"]);
    for (const spoof of [SPOOFED, `${SPOOFED}, ${SPOOFED}`, `${SPOOFED}, ${CHAIN.first}`]) {
      const res = await viaChain({ method: "POST", path: LOGIN, json: creds, headers: { "x-forwarded-for": spoof } });
      expect({ status: res.status, error: res.body.error }).toEqual({ status: 403, error: "ForbiddenError" });
    }
  });

  it.runIf(what === "the proxies' addresses")(
    "does not believe a client that reaches the server directly and writes the proxies' header itself",
    async () => {
      const creds = await identityFrom(["10.0.0.0/8"]);
      const res = await request({
        port: direct,
        from: CHAIN.client,
        method: "POST",
        path: LOGIN,
        json: creds,
        headers: { "x-forwarded-for": [SPOOFED, CHAIN.first] },
      });
      expect({ status: res.status, error: res.body.error }).toEqual({ status: 403, error: "ForbiddenError" });
    },
  );

  it("records the client's real address, not the spoofed one, in the audit log of a REST bulk delete", async () => {
    const id = memberOf(manifest, "acme", "user001@acme.test").membershipId;
    const res = await viaChain({
      method: "DELETE",
      path: membershipsPath(acmeId()),
      headers: { authorization: `Bearer ${adminToken()}` },
      json: { membershipIds: [id] },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(await auditIpsOf(reqIdOf(res))).toEqual([CHAIN.client]);
  });

  it("records the client's real address, not the spoofed one, in the audit log of a tRPC bulk delete", async () => {
    const id = memberOf(manifest, "acme", "user002@acme.test").membershipId;
    const res = await viaChain({
      method: "POST",
      path: "/api/trpc/organizations.bulkDeleteMemberships",
      headers: { authorization: `Bearer ${adminToken()}` },
      json: { organizationId: acmeId(), membershipIds: [id] },
    });
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    const events = await (await testDb()).auditEvent.findMany({ where: { targetId: id }, select: { ip: true } });
    expect(events.map((e) => e.ip)).toEqual([CHAIN.client]);
  });
});
