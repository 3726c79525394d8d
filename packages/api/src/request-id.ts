import { randomFillSync } from "node:crypto";

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

// Random bytes are drawn a kilobyte at a time (about 70 ids) rather than asked for per id: one
// call to the system's generator per request was a measurable part of a small request's CPU.
const pool = Buffer.alloc(1024);
let next = pool.length;

function randomByte(): number {
  if (next >= pool.length) {
    randomFillSync(pool);
    next = 0;
  }
  return pool[next++] as number;
}

/** `req-` followed by 14 letters and digits (the contract's reqId). */
export function newRequestId(): string {
  let id = "req-";
  for (let i = 0; i < 14; i++) {
    // 62 * 4 = 248 < 256: bytes from 248 up are drawn again, so every character is equally likely.
    let b = randomByte();
    while (b >= 248) b = randomByte();
    id += ALPHABET[b % 62];
  }
  return id;
}
