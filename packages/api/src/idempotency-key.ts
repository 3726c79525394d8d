// The Idempotency-Key request header (IETF httpapi-idempotency-key-header draft): an Item
// Structured Field whose value is a String (RFC 8941 section 3.3.3), for example
//   Idempotency-Key: "8e03978e-40d5-43e8-bc93-6894a57f9324"
// and a request's fingerprint, which binds the key to the request it was first used for.
import { createHash } from "node:crypto";
import { BadRequestError } from "./errors";

export const IDEMPOTENCY_KEY_HEADER = "Idempotency-Key";
/** The longest key taken, in characters (the string's content, after unescaping). */
export const MAX_IDEMPOTENCY_KEY_LENGTH = 255;

const EXAMPLE = '"8e03978e-40d5-43e8-bc93-6894a57f9324"';

/**
 * The key a header value carries, or a 400 BadRequest: empty, longer than 255 characters, or not
 * an sf-string (unquoted, a character outside printable ASCII, a backslash escaping anything but
 * `"` or `\`, anything after the closing quote; parameters are not taken, since the draft defines
 * none). Two Idempotency-Key fields arrive joined by a comma, which is no sf-string either.
 */
export function parseIdempotencyKey(header: string): string {
  // RFC 8941 parsing discards leading and trailing spaces; fetch has already trimmed tabs too.
  const value = header.replace(/^ +| +$/g, "");
  if (value === "" || value === '""') throw new BadRequestError(`${IDEMPOTENCY_KEY_HEADER} must not be empty`);
  const invalid = () =>
    new BadRequestError(`${IDEMPOTENCY_KEY_HEADER} must be a quoted string (RFC 8941), for example ${EXAMPLE}`);
  if (!value.startsWith('"')) throw invalid();
  let key = "";
  let i = 1;
  for (; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x20 || code > 0x7e) throw invalid();
    const ch = value[i];
    if (ch === "\\") {
      const next = value[i + 1];
      if (next !== '"' && next !== "\\") throw invalid();
      key += next;
      i++;
    } else if (ch === '"') break;
    else key += ch;
  }
  // The closing quote must be there and be the last character.
  if (i !== value.length - 1) throw invalid();
  if (key === "") throw new BadRequestError(`${IDEMPOTENCY_KEY_HEADER} must not be empty`);
  if (key.length > MAX_IDEMPOTENCY_KEY_LENGTH) {
    throw new BadRequestError(`${IDEMPOTENCY_KEY_HEADER} must be at most ${MAX_IDEMPOTENCY_KEY_LENGTH} characters`);
  }
  return key;
}

/** A value as JSON with every object's keys sorted: equal inputs give equal text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v ?? null)).join(",")}]`;
  if (value && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

/**
 * A request's fingerprint: sha256 of the operation (the tRPC procedure the REST route calls too,
 * so a REST request and the same tRPC call share it) and its parsed input, whose organization id
 * is the REST path's. Parsed, so a body that differs only in ways the schema ignores (key order,
 * spaces around an id) is the same request.
 */
export function requestFingerprint(operation: string, input: unknown): string {
  return createHash("sha256")
    .update(`${operation}\n${canonicalJson(input)}`)
    .digest("hex");
}
