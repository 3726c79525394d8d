// The /docs page: the OpenAPI document (openapi.ts) rendered on the server into one self-contained
// HTML page. No script, no font, no request to anything but this server, so it works offline and
// has nothing on it that needs a hosted service: each operation with its parameters, request body
// schema, responses (the error envelope included) and a curl example that runs as shown.

type Json = Record<string, unknown>;

interface Operation {
  method: string;
  path: string;
  op: Json;
}

const METHODS = ["get", "post", "put", "patch", "delete"] as const;
// Schemas are small and acyclic here; the bound keeps a future recursive schema from looping.
const MAX_DEPTH = 8;

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** `code` spans for backticked words of a description, the rest escaped. */
function prose(text: unknown): string {
  if (typeof text !== "string" || text === "") return "";
  return escapeHtml(text).replace(/`([^`]+)`/g, "<code>$1</code>");
}

function anchorOf(o: Operation): string {
  return typeof o.op.operationId === "string" ? o.op.operationId : `${o.method}-${o.path}`.replace(/[^\w-]/g, "-");
}

function operationsOf(doc: Json): Operation[] {
  const paths = isObject(doc.paths) ? doc.paths : {};
  const out: Operation[] = [];
  for (const [path, item] of Object.entries(paths)) {
    if (!isObject(item)) continue;
    for (const method of METHODS) {
      const op = item[method];
      if (isObject(op)) out.push({ method, path, op });
    }
  }
  return out;
}

/** The short type of a schema: `string (uuid)`, `array of string (uuid)`, `"a" | "b"`, … */
function typeOf(schema: Json, depth = 0): string {
  if (depth > MAX_DEPTH) return "…";
  const nullable = schema.nullable === true ? " or null" : "";
  if (Array.isArray(schema.enum)) return `${schema.enum.map((v) => JSON.stringify(v)).join(" | ")}${nullable}`;
  if (schema.const !== undefined) return JSON.stringify(schema.const);
  const union = (Array.isArray(schema.anyOf) ? schema.anyOf : Array.isArray(schema.oneOf) ? schema.oneOf : null) as
    | Json[]
    | null;
  if (union) return `${union.map((s) => typeOf(s, depth + 1)).join(" | ")}${nullable}`;
  const type =
    typeof schema.type === "string" ? schema.type : Array.isArray(schema.type) ? schema.type.join(" | ") : "any";
  if (type === "array" && isObject(schema.items)) return `array of ${typeOf(schema.items, depth + 1)}${nullable}`;
  const format = typeof schema.format === "string" ? ` (${schema.format})` : "";
  return `${type}${format}${nullable}`;
}

/** Bounds and rules a schema states, in words. */
function rulesOf(schema: Json): string[] {
  const rules: string[] = [];
  const say = (key: string, words: string) => {
    const value = schema[key];
    // zod's integers carry the safe-integer range: true, but nothing a reader needs to see
    if (value === undefined || value === Number.MAX_SAFE_INTEGER || value === Number.MIN_SAFE_INTEGER) return;
    rules.push(`${words} ${JSON.stringify(value)}`);
  };
  say("minLength", "at least");
  say("maxLength", "at most");
  say("minimum", "≥");
  say("maximum", "≤");
  say("exclusiveMinimum", ">");
  say("exclusiveMaximum", "<");
  if (schema.minItems !== undefined) rules.push(`at least ${String(schema.minItems)} items`);
  if (schema.maxItems !== undefined) rules.push(`at most ${String(schema.maxItems)} items`);
  if (schema.uniqueItems === true) rules.push("unique items");
  if (typeof schema.pattern === "string") rules.push(`matches <code>${escapeHtml(schema.pattern)}</code>`);
  if (schema.default !== undefined) rules.push(`default ${escapeHtml(JSON.stringify(schema.default))}`);
  if (schema.additionalProperties === false) rules.push("no other keys");
  return rules;
}

/** The object (or array of objects) whose fields a table lists, if any. */
function fieldsHolder(schema: Json): Json | null {
  if (isObject(schema.properties)) return schema;
  if (schema.type === "array" && isObject(schema.items)) return fieldsHolder(schema.items);
  return null;
}

/** A schema as a table of its fields, nested objects indented under their field. */
function schemaTable(schema: Json): string {
  const rows: string[] = [];
  const walk = (holder: Json, prefix: string, depth: number) => {
    if (depth > MAX_DEPTH) return;
    const required = new Set(Array.isArray(holder.required) ? (holder.required as string[]) : []);
    for (const [name, raw] of Object.entries(holder.properties as Json)) {
      if (!isObject(raw)) continue;
      const rules = rulesOf(raw).join(", ");
      rows.push(
        `<tr><td><code>${escapeHtml(prefix + name)}</code>${required.has(name) ? "" : ' <span class="muted">optional</span>'}</td>` +
          `<td>${escapeHtml(typeOf(raw))}</td><td>${[prose(raw.description), rules].filter(Boolean).join(" · ")}</td></tr>`,
      );
      const nested = fieldsHolder(raw);
      if (nested) walk(nested, `${prefix}${name}${raw.type === "array" ? "[]" : ""}.`, depth + 1);
    }
  };
  const holder = fieldsHolder(schema);
  const head = `<p class="type">${escapeHtml(typeOf(schema))}${rulesOf(schema).length ? ` · ${rulesOf(schema).join(", ")}` : ""}</p>`;
  if (!holder) return head;
  walk(holder, schema.type === "array" ? "[]." : "", 0);
  return `${head}<table><thead><tr><th>field</th><th>type</th><th>rules</th></tr></thead><tbody>${rows.join("")}</tbody></table>`;
}

/** An example value of a schema: every required field, placeholders for what the caller supplies. */
function sample(schema: Json, name: string, depth = 0): unknown {
  if (depth > MAX_DEPTH) return null;
  if (schema.default !== undefined) return schema.default;
  if (Array.isArray(schema.enum)) return schema.enum[0];
  const union = (Array.isArray(schema.anyOf) ? schema.anyOf : schema.oneOf) as Json[] | undefined;
  if (union?.[0]) return sample(union[0], name, depth + 1);
  switch (schema.type) {
    case "object": {
      const props = isObject(schema.properties) ? schema.properties : {};
      const required = Array.isArray(schema.required) ? (schema.required as string[]) : Object.keys(props);
      return Object.fromEntries(
        required.filter((k) => isObject(props[k])).map((k) => [k, sample(props[k] as Json, k, depth + 1)]),
      );
    }
    case "array":
      return isObject(schema.items) ? [sample(schema.items, name.replace(/s$/, ""), depth + 1)] : [];
    case "integer":
    case "number":
      return typeof schema.minimum === "number" ? schema.minimum : 0;
    case "boolean":
      return false;
    default:
      return `<${name}>`;
  }
}

function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** A curl command for the operation: the server's address, $TOKEN and $ORG as the README sets them. */
function curlOf(o: Operation, baseUrl: string): string {
  const url = `${baseUrl}${o.path.replace("{organizationId}", "$ORG")}`;
  const parts = [`curl -s${o.method === "get" ? "" : ` -X ${o.method.toUpperCase()}`} "${url}"`];
  if (Array.isArray(o.op.security) && o.op.security.length > 0) parts.push(`-H "authorization: Bearer $TOKEN"`);
  const body = jsonBodySchema(o.op);
  if (body) {
    parts.push("-H 'content-type: application/json'");
    parts.push(`-d ${shellQuote(JSON.stringify(sample(body, "body")))}`);
  }
  return parts.join(" \\\n  ");
}

function jsonBodySchema(op: Json): Json | null {
  const content = isObject(op.requestBody) && isObject(op.requestBody.content) ? op.requestBody.content : null;
  const json = content?.["application/json"];
  return isObject(json) && isObject(json.schema) ? json.schema : null;
}

function parametersHtml(op: Json): string {
  const params = Array.isArray(op.parameters) ? (op.parameters as Json[]) : [];
  if (params.length === 0) return "";
  const rows = params
    .map(
      (p) =>
        `<tr><td><code>${escapeHtml(String(p.name))}</code>${p.required ? "" : ' <span class="muted">optional</span>'}</td>` +
        `<td>${escapeHtml(String(p.in))}</td><td>${escapeHtml(isObject(p.schema) ? typeOf(p.schema) : "any")}</td>` +
        `<td>${prose(p.description)}</td></tr>`,
    )
    .join("");
  return `<h4>Parameters</h4><table><thead><tr><th>name</th><th>in</th><th>type</th><th>description</th></tr></thead><tbody>${rows}</tbody></table>`;
}

function requestBodyHtml(op: Json): string {
  if (!isObject(op.requestBody) || !isObject(op.requestBody.content)) return "";
  const content = op.requestBody.content;
  const types = Object.keys(content);
  const first = content[types[0] as string];
  const schema = isObject(first) && isObject(first.schema) ? first.schema : {};
  return (
    `<h4>Request body${op.requestBody.required ? "" : ' <span class="muted">optional</span>'}</h4>` +
    `<p>${types.map((t) => `<code>${escapeHtml(t)}</code>`).join(" or ")}</p>${schemaTable(schema)}`
  );
}

function responsesHtml(op: Json): string {
  const responses = isObject(op.responses) ? op.responses : {};
  const items = Object.entries(responses).map(([code, raw]) => {
    const r = isObject(raw) ? raw : {};
    const json = isObject(r.content) ? r.content["application/json"] : undefined;
    const schema = isObject(json) && isObject(json.schema) ? json.schema : null;
    const kind = code.startsWith("2") ? "ok" : "err";
    return (
      `<details${kind === "ok" ? " open" : ""}><summary><span class="status ${kind}">${escapeHtml(code)}</span> ${prose(r.description)}</summary>` +
      `${schema ? schemaTable(schema) : "<p class='muted'>No body.</p>"}</details>`
    );
  });
  return `<h4>Responses</h4>${items.join("")}`;
}

function operationHtml(o: Operation, baseUrl: string): string {
  const secured = Array.isArray(o.op.security) && o.op.security.length > 0;
  return (
    `<section class="op" id="${escapeHtml(anchorOf(o))}">` +
    `<h3><span class="method ${o.method}">${o.method.toUpperCase()}</span> <code>${escapeHtml(o.path)}</code></h3>` +
    `<p>${prose(o.op.description)} <span class="muted">· operationId <code>${escapeHtml(String(o.op.operationId ?? ""))}</code></span></p>` +
    `<p>${secured ? "Needs <code>Authorization: Bearer &lt;access token&gt;</code>." : "No token: the body carries the credentials."}</p>` +
    parametersHtml(o.op) +
    requestBodyHtml(o.op) +
    responsesHtml(o.op) +
    `<h4>Example</h4><pre><code>${escapeHtml(curlOf(o, baseUrl))}</code></pre></section>`
  );
}

const STYLE = `
:root{color-scheme:light dark;--fg:#1f2328;--muted:#656d76;--line:#d0d7de;--bg:#fff;--code:#f6f8fa}
@media (prefers-color-scheme:dark){:root{--fg:#e6edf3;--muted:#8d96a0;--line:#30363d;--bg:#0d1117;--code:#161b22}}
*{box-sizing:border-box}body{margin:0;font:15px/1.5 system-ui,sans-serif;color:var(--fg);background:var(--bg)}
main{max-width:64rem;margin:0 auto;padding:1.5rem 1rem 4rem}h1{margin:.2rem 0}h2{margin-top:2.5rem;border-bottom:1px solid var(--line)}
h3{margin:0 0 .5rem;font-size:1.1rem;overflow-wrap:anywhere}h4{margin:1.2rem 0 .4rem}
code,pre{font:13px/1.45 ui-monospace,SFMono-Regular,Menlo,monospace}pre{background:var(--code);padding:.75rem;overflow-x:auto;border-radius:6px}
:not(pre)>code{background:var(--code);padding:0 .25rem;border-radius:4px}
table{border-collapse:collapse;width:100%;margin:.3rem 0;display:block;overflow-x:auto}th,td{border:1px solid var(--line);padding:.3rem .5rem;text-align:left;vertical-align:top}
th{font-weight:600}.muted{color:var(--muted);font-size:.9em}.type{margin:.3rem 0;color:var(--muted)}
.op{border:1px solid var(--line);border-radius:8px;padding:1rem;margin:1rem 0}
.method{display:inline-block;min-width:4.2rem;text-align:center;border-radius:4px;padding:0 .4rem;color:#fff;font-size:.85rem}
.get{background:#1a7f37}.post{background:#0969da}.delete{background:#cf222e}.put,.patch{background:#9a6700}
.status{display:inline-block;min-width:2.6rem;font-weight:600}.status.ok{color:#1a7f37}.status.err{color:#cf222e}
pre.wrap{white-space:pre-wrap}details{margin:.2rem 0}summary{cursor:pointer}nav ul{padding-left:1.2rem}
`;

/** The whole page. `baseUrl` is where the server answers (used in the curl examples). */
export function renderApiReference(doc: Json, baseUrl: string): string {
  const info = isObject(doc.info) ? doc.info : {};
  const title = typeof info.title === "string" ? info.title : "API reference";
  const ops = operationsOf(doc);
  const toc = ops
    .map(
      (o) =>
        `<li><a href="#${escapeHtml(anchorOf(o))}"><span class="method ${o.method}">${o.method.toUpperCase()}</span> <code>${escapeHtml(o.path)}</code></a> ${prose(o.op.description)}</li>`,
    )
    .join("");
  const byTag = new Map<string, Operation[]>();
  for (const o of ops) {
    const tag = Array.isArray(o.op.tags) && typeof o.op.tags[0] === "string" ? o.op.tags[0] : "Operations";
    byTag.set(tag, [...(byTag.get(tag) ?? []), o]);
  }
  const sections = [...byTag]
    .map(([tag, list]) => `<h2>${escapeHtml(tag)}</h2>${list.map((o) => operationHtml(o, baseUrl)).join("")}`)
    .join("");
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} reference</title><style>${STYLE}</style></head>
<body><main>
<h1>${escapeHtml(title)} <span class="muted">${escapeHtml(String(info.version ?? ""))}</span></h1>
<p>${prose(info.description)}</p>
<p>The OpenAPI document: <a href="/api/openapi.json"><code>/api/openapi.json</code></a>. The examples use
<code>$TOKEN</code> (an access token: <code>npm run -s token -- --email &lt;email&gt; --org &lt;slug&gt;</code>, or an identity's from the login below)
and <code>$ORG</code> (the organization id).</p>
<h2>Errors</h2>
<p>Every refusal answers the same JSON envelope and changes nothing: <code>reqId</code> (also in the
<code>x-request-id</code> header), <code>statusCode</code>, <code>error</code> (the status's name) and
<code>message</code> (a sentence, or for 422 the list of schema issues); 400 and 403 may add <code>details</code>.</p>
<pre class="wrap"><code>${escapeHtml('{ "reqId": "req-8kaQDV3XOomiTo", "statusCode": 404, "error": "NotFound", "message": "Memberships not found in organization …: …" }')}</code></pre>
<nav><h2>Operations</h2><ul>${toc}</ul></nav>
${sections}
</main></body></html>
`;
}
