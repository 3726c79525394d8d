import { createHash, randomBytes } from "node:crypto";

/** A new client secret: 256 random bits as 64 hex characters (the upstream service's format). */
export function newClientSecret(): string {
  return randomBytes(32).toString("hex");
}

/**
 * How a client secret is stored. The secret is 256 random bits, so a fast hash is enough (no
 * dictionary to slow down), and it lets a login find its secret by an indexed lookup.
 */
export function hashClientSecret(secret: string): string {
  return createHash("sha256").update(secret, "utf8").digest("hex");
}
