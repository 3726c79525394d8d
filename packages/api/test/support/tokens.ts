// Tokens and request ids as tests see them: a token's claims read without checking it, and the
// contract's request-id pattern taken from its schema, so no test keeps a copy that could drift.
import { ReqId } from "@roster/contract";
import { z } from "zod";

/** The claims of a JWT (or of `Bearer <JWT>`), decoded and not verified. */
export function claimsOf(token: string): Record<string, unknown> {
  const jwt = token.replace(/^Bearer\s+/i, "");
  return JSON.parse(Buffer.from(jwt.split(".")[1] ?? "", "base64url").toString("utf8"));
}

const pattern = z.toJSONSchema(ReqId).pattern;
if (!pattern?.startsWith("^") || !pattern.endsWith("$")) throw new Error(`ReqId has no anchored pattern: ${pattern}`);

/** A whole request id, as the contract's `ReqId` describes it. */
export const REQ_ID = new RegExp(pattern);
/** The same pattern without its anchors, for a request id inside a longer text. */
export const REQ_ID_TEXT = pattern.slice(1, -1);

/** A request id of the server's own form, for a server-side caller whose id the test must know. */
export { newRequestId as newReqId } from "../../src/request-id";
