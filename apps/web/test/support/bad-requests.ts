// Bad requests to the bulk delete over HTTP, for the fuzzing tests: what they are made of, the
// contract's view of a valid body (checked independently of the implementation's schema), and a
// sender that checks every answer is the documented error with its envelope.
import { MSG, REQ_ID } from "@roster/api/testing";
import fc from "fast-check";
import { expect } from "vitest";
import { JSON_CONTENT_TYPE, membershipsPath, sendRaw } from "./http";

/** What z.guid() accepts (after trimming): any 8-4-4-4-12 hex id. */
const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
export const isGuid = (s: string) => GUID.test(s.trim());
const NAME_BY_STATUS: Record<number, string> = {
  400: "BadRequest",
  403: "ForbiddenError",
  413: "PayloadTooLarge",
  422: "ValidationFailure",
};

/** The contract's body, checked independently of the implementation's schema. */
export function isValidBody(v: unknown): boolean {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  const keys = Object.keys(v);
  if (keys.length !== 1 || keys[0] !== "membershipIds") return false;
  const ids = (v as { membershipIds: unknown }).membershipIds;
  return Array.isArray(ids) && ids.length <= 1000 && ids.every((id) => typeof id === "string" && isGuid(id));
}

export interface BadRequest {
  /** Path organization id, already encoded for the URL (default: acme's id). */
  orgSegment?: string;
  body: string | Uint8Array<ArrayBuffer>;
  /** null: send no Content-Type at all. */
  contentType?: string | null;
  expected: 400 | 403 | 413 | 422;
}

/** False for strings with lone surrogates, which have no URL encoding. */
export function encodable(s: string): boolean {
  try {
    encodeURIComponent(s);
    return true;
  } catch {
    return false;
  }
}

export const utf8 = (s: string): Uint8Array<ArrayBuffer> => new TextEncoder().encode(s) as Uint8Array<ArrayBuffer>;

export function concatBytes(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Strings that are not UUIDs even after trimming, many of them near misses. */
export const notUuid = () =>
  fc
    .oneof(
      fc.string({ unit: "binary", maxLength: 60 }),
      fc.string({ maxLength: 40 }),
      fc.uuid().map((u) => u.slice(1)),
      fc.uuid().map((u) => `${u}0`),
      fc.uuid().map((u) => u.replace(/-/g, "")),
      fc.uuid().map((u) => `{${u}}`),
      fc.uuid().map((u) => `urn:uuid:${u}`),
      fc.uuid().map((u) => u.replace(/[0-9a-f]/, "g")),
      fc.uuid().map((u) => u.replace(/-/, "_")),
      fc.uuid().map((u) => `${u.slice(0, 8)} ${u.slice(8)}`),
      fc.constantFrom("", " ", "null", "undefined", "0", "00000000-0000-0000-0000-00000000000", "\u0000"),
    )
    .filter((s) => !isGuid(s));

/** Sends bad requests as a caller (`auth()`: acme's id and a valid token) and counts the answers by status. */
export class BadRequestSender {
  sent = 0;
  readonly byStatus: Record<number, number> = {};

  constructor(private readonly auth: () => { orgId: string; token: string }) {}

  /** Sends `req` and checks its answer: the expected status, the envelope, the contract's name and message. */
  async send(req: BadRequest): Promise<void> {
    const { orgId, token } = this.auth();
    const headers: Record<string, string> = { authorization: `Bearer ${token}` };
    if (req.contentType !== null) headers["content-type"] = req.contentType ?? "application/json";
    const path = membershipsPath(req.orgSegment ?? orgId);
    const res = await sendRaw({ method: "DELETE", path, headers, body: req.body });
    const text = res.text;
    this.sent++;
    this.byStatus[res.status] = (this.byStatus[res.status] ?? 0) + 1;
    const shown = typeof req.body === "string" ? req.body.slice(0, 300) : `<${req.body.length} bytes>`;
    const context = `${path} ${req.contentType ?? "(no content type)"} ${JSON.stringify(shown)} -> ${res.status} ${text.slice(0, 300)}`;
    expect(res.status, context).toBe(req.expected);
    expect(res.headers.get("content-type"), context).toBe(JSON_CONTENT_TYPE);
    const body = JSON.parse(text) as Record<string, unknown>;
    const keys = Object.keys(body).sort();
    const withDetails = res.status === 400 || res.status === 403;
    expect(
      keys.filter((k) => k !== "details"),
      context,
    ).toEqual(["error", "message", "reqId", "statusCode"]);
    if (!withDetails) expect(keys, context).not.toContain("details");
    expect(body.reqId, context).toMatch(REQ_ID);
    expect(res.headers.get("x-request-id"), context).toBe(body.reqId);
    expect(body.statusCode, context).toBe(res.status);
    expect(body.error, context).toBe(NAME_BY_STATUS[res.status]);
    if (res.status === 400) expect(body.message, context).toBe(MSG.badJson);
    if (res.status === 413) expect(body.message, context).toBe(MSG.tooLarge);
    if (res.status === 403) expect(body.message, context).toMatch(/^Your token is scoped to organization with ID /);
    if (res.status === 422) {
      expect(Array.isArray(body.message), context).toBe(true);
      const issues = body.message as { code: unknown; path: unknown; message: unknown }[];
      expect(issues.length, context).toBeGreaterThan(0);
      for (const issue of issues) {
        expect(Object.keys(issue).sort(), context).toEqual(["code", "message", "path"]);
        expect(typeof issue.code, context).toBe("string");
        expect(typeof issue.message, context).toBe("string");
        expect(Array.isArray(issue.path), context).toBe(true);
      }
    }
  }
}
