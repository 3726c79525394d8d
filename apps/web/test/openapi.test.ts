// The generated OpenAPI document against the documented operation (docs/reference). Only the
// deliberate differences named below are allowed.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { baseUrl, orgOf, reseed, tokenOf } from "@roster/api/testing";
import { repoRoot } from "@roster/config";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";

type Schema = Record<string, unknown>;
const PATH = "/api/v2/organizations/{organizationId}/memberships";

/**
 * Deliberate differences from the documented operation, by name:
 * - "uuid format": ids (path parameter, membershipIds items) carry `format: uuid`.
 * - "maxItems": membershipIds is bounded by MAX_BULK_DELETE.
 * - "413": a body over 1 MiB is answered 413 PayloadTooLarge.
 * - "429": the rate limit's answer is documented ahead of the limit itself.
 * - "503": the database unavailable (unreachable, or it dropped the connection) is answered 503
 *   ServiceUnavailable with the error envelope, not 500.
 * - "Idempotency-Key": the removal takes the optional Idempotency-Key header (IETF
 *   httpapi-idempotency-key-header draft) so that a script can retry it safely; hence "409" (a
 *   request under the key still running) and a 422 whose message may be a sentence
 *   (UnprocessableContent: the key reused for another request). See docs/idempotency.md.
 * - "role enum" / "status enum": `role` and `status` list their values.
 * - "required keys": every one of the 14 membership keys is always present.
 * - "details on 400/403 only", "422 message": the envelope as the contract page fixes it.
 * - "patterns": string formats also carry the regular expression the server checks.
 * - "descriptions": prose is ours.
 */
const DELIBERATE_RESPONSE_CODES = ["409", "413", "429", "503"];
/** The deliberate header parameters ("Idempotency-Key"). */
const DELIBERATE_HEADERS = ["Idempotency-Key"];

/** Drops prose and the deliberate additions, so the two documents compare on structure. */
function normalize(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(normalize);
  if (!schema || typeof schema !== "object") return schema;
  const out: Schema = {};
  for (const [key, value] of Object.entries(schema as Schema)) {
    if (["description", "pattern", "maxItems", "default", "title"].includes(key)) continue; // prose, "patterns", "maxItems"
    if (key === "format" && value === "uuid") continue; // "uuid format"
    if (key === "enum" && (schema as Schema).type === "string" && Array.isArray(value) && value.length > 1) continue; // "role enum", "status enum"
    out[key] = normalize(value);
  }
  return out;
}

function withoutRequired(schema: unknown): unknown {
  if (Array.isArray(schema)) return schema.map(withoutRequired);
  if (!schema || typeof schema !== "object") return schema;
  return Object.fromEntries(
    Object.entries(schema as Schema)
      .filter(([k]) => k !== "required")
      .map(([k, v]) => [k, withoutRequired(v)]),
  );
}

describe("OpenAPI document", async () => {
  const spec = parse(
    fs.readFileSync(path.join(repoRoot(), "docs/reference/bulk-delete-memberships.openapi.yaml"), "utf8"),
  );
  const res = await fetch(`${baseUrl()}/api/openapi.json`);
  const doc = (await res.json()) as Schema & { paths: Record<string, Record<string, Schema>> };
  const ours = doc.paths[PATH]?.delete as Schema & { responses: Record<string, Schema> };
  const theirs = spec.paths[PATH].delete as Schema & { responses: Record<string, Schema> };
  const bodySchema = (r: Schema) => (r.content as Record<string, { schema: Schema }>)["application/json"]?.schema;

  it("is served as JSON and describes both operations", () => {
    expect(res.status).toBe(200);
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths[PATH] ?? {}).sort()).toEqual(["delete", "get"]);
  });

  it("has the documented path, method, operation id, parameter and security", () => {
    expect(ours.operationId).toBe(theirs.operationId);
    const parameters = ours.parameters as Schema[];
    const documented = parameters.filter((p) => !(p.in === "header" && DELIBERATE_HEADERS.includes(p.name as string)));
    expect(normalize(documented)).toEqual(normalize(theirs.parameters));
    // "Idempotency-Key": optional, so that a request without it is the documented one.
    expect(parameters.find((p) => p.name === "Idempotency-Key")).toMatchObject({ in: "header", required: false });
    expect(ours.security).toEqual(theirs.security);
    expect(doc.components).toMatchObject({ securitySchemes: { bearerAuth: { type: "http", scheme: "bearer" } } });
  });

  it("has the documented request schema", () => {
    const req = (r: Schema) => bodySchema(r.requestBody as Schema);
    expect((ours.requestBody as Schema).required).toBe(true);
    expect(normalize(req(ours))).toEqual(normalize(req(theirs)));
  });

  it("answers every documented response code with the documented schema", () => {
    const extra = Object.keys(ours.responses).filter((c) => !(c in theirs.responses));
    expect(extra.sort()).toEqual(DELIBERATE_RESPONSE_CODES);
    for (const [code, response] of Object.entries(theirs.responses)) {
      const mine = ours.responses[code];
      expect(mine, `response ${code}`).toBeDefined();
      const a = normalize(bodySchema(mine as Schema)) as Schema;
      const b = normalize(bodySchema(response)) as Schema;
      if (code === "200") {
        // "required keys": ours requires all 14 keys, a superset of the documented ones.
        const item = (s: Schema) => ((s.properties as Schema).memberships as Schema).items as Schema;
        expect(item(a).required).toEqual(expect.arrayContaining(item(b).required as string[]));
        expect(withoutRequired(a)).toEqual(withoutRequired(b));
        continue;
      }
      const props = (s: Schema) => s.properties as Schema;
      expect(Object.keys(props(a)).sort(), `envelope keys of ${code}`).toEqual(Object.keys(props(b)).sort());
      expect(props(a).statusCode, `statusCode of ${code}`).toEqual(props(b).statusCode);
      expect(a.additionalProperties).toBe(false);
      expect(a.required).toEqual(expect.arrayContaining(b.required as string[]));
    }
  });

  it("documents ids as PostgreSQL stores them: any 8-4-4-4-12 hex id, RFC 9562 version or not", () => {
    const patterns = new Set<string>();
    let uuids = 0;
    const walk = (node: unknown): void => {
      if (Array.isArray(node)) {
        for (const item of node) walk(item);
        return;
      }
      if (!node || typeof node !== "object") return;
      const schema = node as Schema;
      if (schema.format === "uuid") {
        uuids++;
        if (typeof schema.pattern === "string") patterns.add(schema.pattern);
      }
      for (const value of Object.values(schema)) walk(value);
    };
    walk(doc);
    expect(uuids).toBeGreaterThan(10);
    // One id schema, in requests and responses alike.
    expect(patterns.size).toBe(1);
    const pattern = new RegExp([...patterns][0] as string);
    for (const id of [
      "11111111-1111-1111-1111-111111111111",
      "abcdef01-2345-0678-c9ab-cdef01234567",
      "12345678-9ABC-FDEF-E123-456789ABCDEF",
      "0b9f6c1e-5d2a-4c8e-9f3b-7a1d2e4c6b80",
    ]) {
      expect(pattern.test(id), id).toBe(true);
    }
    for (const bad of [
      "11111111-1111-1111-1111-11111111111",
      "1111111g-1111-1111-1111-111111111111",
      "11111111111111111111111111111111",
    ]) {
      expect(pattern.test(bad), bad).toBe(false);
    }
  });

  it("renders a reference of every operation on the server, with nothing that needs the network", async () => {
    const doc = (await (await fetch(`${baseUrl()}/api/openapi.json`)).json()) as Schema;
    const page = await fetch(`${baseUrl()}/docs`);
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toContain("text/html");
    expect(page.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
    const html = await page.text();
    // offline: no script, no button or form that would need a service, no address but this server's
    expect(html).not.toMatch(/<(script|button|form|iframe|link)\b/i);
    for (const url of html.match(/https?:\/\/[^\s"'<)]+/g) ?? []) expect(url.startsWith(baseUrl())).toBe(true);
    expect(html).toContain('href="/api/openapi.json"');

    let operations = 0;
    for (const [route, item] of Object.entries(doc.paths as Record<string, Schema>)) {
      for (const [method, op] of Object.entries(item as Record<string, Schema>)) {
        operations++;
        const id = op.operationId as string;
        const start = html.indexOf(`<section class="op" id="${id}">`);
        expect(start, id).toBeGreaterThan(0);
        const section = html.slice(start, html.indexOf("</section>", start));
        expect(section).toContain(`>${method.toUpperCase()}</span> <code>${route}</code>`);
        for (const p of (op.parameters as Schema[] | undefined) ?? [])
          expect(section).toContain(`<code>${p.name}</code>`);
        if (op.requestBody) expect(section).toContain("Request body");
        for (const code of Object.keys(op.responses as Schema)) {
          expect(section, `${id} ${code}`).toMatch(new RegExp(`class="status (ok|err)">${code}</span>`));
        }
        expect(section).toContain(`curl -s`);
      }
    }
    expect(operations).toBe(6);
    // the error envelope and the bulk delete's bound are spelled out
    expect(html).toContain("<code>statusCode</code>");
    expect(html).toMatch(/<code>membershipIds<\/code><\/td><td>array of string<\/td><td>[^<]*at most 1000 items/);
  });

  it("gives curl examples that run as shown", async () => {
    const manifest = await reseed();
    const html = await (await fetch(`${baseUrl()}/docs`)).text();
    const section = html.slice(html.indexOf('id="listOrgMemberships"'));
    const example = section.slice(section.indexOf("<pre><code>") + 11, section.indexOf("</code></pre>"));
    const command = example.replace(/&#(\d+);/g, (_, n) => String.fromCharCode(Number(n)));
    expect(command).toContain(`${baseUrl()}/api/v2/organizations/$ORG/memberships`);
    const run = spawnSync("bash", ["-c", command], {
      encoding: "utf8",
      env: {
        ...process.env,
        TOKEN: tokenOf(manifest, "acme", "admin@acme.test"),
        ORG: orgOf(manifest, "acme").id,
      },
    });
    expect(run.status, run.stderr).toBe(0);
    const body = JSON.parse(run.stdout) as { users: unknown[] };
    expect(body.users).toHaveLength(orgOf(manifest, "acme").members.length);
  });
});
