// Races over HTTP: requests armed on warm keep-alive connections, then sent together, so that
// neither side of a race pays for JSON encoding, a TCP connect or a cold route while the other is
// already on its way. Also the plain REST removal the race and lock tests send.
import http from "node:http";
import { baseUrl, REQ_ID } from "@roster/api/testing";
import { afterAll, expect } from "vitest";
import {
  membershipsPath,
  type Outcome,
  parseJson,
  type RawResponse,
  restOutcome,
  sendRaw,
  TRPC_BULK_DELETE_PATH,
  trpcHttpOutcome,
} from "./http";
import type { Call, SurfaceName } from "./surfaces";

/** One keep-alive connection for one side of a race, so no request of the race pays for a connect. */
const racerAgent = (): http.Agent => new http.Agent({ keepAlive: true, maxSockets: 1 });

/** A maker of racers' agents for this test file; they are destroyed after it. */
export function racerAgents(): () => http.Agent {
  const agents: http.Agent[] = [];
  afterAll(() => {
    for (const agent of agents) agent.destroy();
  });
  return () => {
    const agent = racerAgent();
    agents.push(agent);
    return agent;
  };
}

export interface Armed {
  /** Sends the request (written in full at once) and resolves with its answer. */
  fire(): Promise<Outcome>;
}

/**
 * A bulk delete over HTTP (REST, or tRPC at /api/trpc) with its body serialised and its
 * connection taken from `agent` and open, but nothing sent yet. Racing requests are armed first
 * and fired together, so each side starts from the same point: neither pays for JSON encoding,
 * a TCP connect or a cold route while the other is already on its way.
 */
export async function armBulkDelete(
  agent: http.Agent,
  surface: SurfaceName,
  call: Call & { membershipIds: readonly string[] },
): Promise<Armed> {
  const url = new URL(baseUrl());
  const isRest = surface === "rest";
  const body = Buffer.from(
    JSON.stringify(
      isRest
        ? { membershipIds: call.membershipIds }
        : { organizationId: call.orgId, membershipIds: call.membershipIds },
    ),
  );
  const headers = {
    "user-agent": `roster-races/${surface}`,
    "content-type": "application/json",
    "content-length": String(body.length),
    ...(call.authorization !== null ? { authorization: call.authorization } : {}),
  };
  const req = http.request({
    agent,
    host: url.hostname,
    port: url.port,
    method: isRest ? "DELETE" : "POST",
    path: isRest ? membershipsPath(call.orgId) : TRPC_BULK_DELETE_PATH,
    headers,
  });
  const answered = new Promise<RawResponse>((resolve, reject) => {
    req.once("error", reject);
    req.once("response", (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.once("error", reject);
      res.once("end", () => {
        const text = Buffer.concat(chunks).toString("utf8");
        const h = new Headers();
        for (const [name, value] of Object.entries(res.headers)) {
          for (const v of Array.isArray(value) ? value : value === undefined ? [] : [value]) h.append(name, v);
        }
        resolve({ status: res.statusCode ?? 0, headers: h, text, body: parseJson(text) });
      });
    });
  });
  // Until fired, a failure surfaces through `ready` below (or later through `fire`).
  answered.catch(() => {});
  await Promise.race([
    new Promise<void>((resolve) =>
      req.once("socket", (socket) => (socket.connecting ? socket.once("connect", () => resolve()) : resolve())),
    ),
    answered.then(() => {
      throw new Error("answered before it was sent");
    }),
  ]);
  return {
    fire() {
      req.end(body);
      return answered.then(isRest ? restOutcome : trpcHttpOutcome);
    },
  };
}

/** An empty removal on `surface` through `agent`: the route compiled, the connection open and kept. */
export async function warm(
  agent: http.Agent,
  surface: SurfaceName,
  authorization: string,
  orgId: string,
): Promise<void> {
  const armed = await armBulkDelete(agent, surface, { authorization, orgId, membershipIds: [] });
  const answer = await armed.fire();
  expect(answer.status, JSON.stringify(answer.http?.body)).toBe(200);
}

/** Fires both armed requests in one go, `first` (0 or 1) first; the answers in the order armed. */
export function fireInOrder(armed: Armed[], first: number): Promise<[Outcome, Outcome]> {
  const [a, b] = armed as [Armed, Armed];
  if (first === 0) {
    const x = a.fire();
    return Promise.all([x, b.fire()]);
  }
  const y = b.fire();
  return Promise.all([a.fire(), y]);
}

export const describeAnswers = (answers: Outcome[]) =>
  JSON.stringify(answers.map((a) => ({ status: a.status, error: a.error, message: a.message })));

/** The envelope of a failure on either surface: its reqId is the x-request-id header's. */
export function expectWireEnvelope(a: Outcome, surface: SurfaceName): void {
  expect(a.reqId).toMatch(REQ_ID);
  if (a.status === 200) return;
  const body = a.http?.body as Record<string, unknown> & { error?: { data?: Record<string, unknown> } };
  if (surface === "rest") {
    expect(body).toMatchObject({ statusCode: a.status, reqId: a.reqId });
  } else {
    expect(body.error?.data).toMatchObject({ httpStatus: a.status, reqId: a.reqId });
  }
}

/** A REST removal's answer: its status, its `x-request-id` and its JSON body. */
export interface Answer {
  status: number;
  reqId: string | null;
  body: {
    memberships?: { id: string }[];
    error?: string;
    message?: unknown;
    statusCode?: number;
    reqId?: string;
  };
}

/** A REST removal with `token`, sent at once (an answer that is not JSON fails the test). */
export async function restDelete(orgId: string, token: string, membershipIds: string[]): Promise<Answer> {
  const res = await sendRaw({
    method: "DELETE",
    path: membershipsPath(orgId),
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify({ membershipIds }),
  });
  if (res.body === undefined) throw new Error(`non-JSON answer ${res.status}: ${res.text.slice(0, 300)}`);
  return { status: res.status, reqId: res.headers.get("x-request-id"), body: res.body as Answer["body"] };
}
