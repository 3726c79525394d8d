import { randomBytes } from "node:crypto";

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/** `req-` followed by 14 letters and digits (the contract's reqId). */
export function newRequestId(): string {
  const bytes = randomBytes(14);
  let id = "req-";
  // 62 * 4 = 248 < 256: reject the tail bytes so every character is equally likely
  for (let i = 0; i < bytes.length; i++) {
    let b = bytes[i] as number;
    while (b >= 248) b = randomBytes(1)[0] as number;
    id += ALPHABET[b % 62];
  }
  return id;
}
