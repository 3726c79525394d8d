// Slows down guessing at Universal Auth: after FREE_FAILURES failed logins for one client id
// within WINDOW_MS, further attempts are refused (429 with Retry-After) for a lockout that doubles
// with each further failure, up to MAX_LOCK_MS. A success clears the record. Kept in the server
// process, which serves every login.
import { RateLimitError } from "../errors";

const FREE_FAILURES = 5;
const WINDOW_MS = 5 * 60_000;
const BASE_LOCK_MS = 30_000;
const MAX_LOCK_MS = 15 * 60_000;
const MAX_ENTRIES = 10_000;

interface Entry {
  failures: number;
  firstAt: number;
  lockedUntil: number;
}

export class LoginThrottle {
  private entries = new Map<string, Entry>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Throws RateLimitError while the key is locked out. */
  check(key: string): void {
    const e = this.entries.get(key);
    const now = this.now();
    if (e && e.lockedUntil > now) throw new RateLimitError(Math.ceil((e.lockedUntil - now) / 1000));
  }

  failure(key: string): void {
    const now = this.now();
    let e = this.entries.get(key);
    if (!e || now - e.firstAt > WINDOW_MS) e = { failures: 0, firstAt: now, lockedUntil: 0 };
    e.failures += 1;
    if (e.failures >= FREE_FAILURES) {
      e.lockedUntil = now + Math.min(BASE_LOCK_MS * 2 ** (e.failures - FREE_FAILURES), MAX_LOCK_MS);
    }
    this.entries.delete(key);
    this.entries.set(key, e);
    // Bounded memory: forget the oldest records first.
    while (this.entries.size > MAX_ENTRIES) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
  }

  success(key: string): void {
    this.entries.delete(key);
  }
}

const GLOBAL_KEY = Symbol.for("roster.loginThrottle");
type GlobalWithThrottle = typeof globalThis & { [GLOBAL_KEY]?: LoginThrottle };

/** The process-wide throttle (shared by every bundle of this module in one process). */
export function loginThrottle(): LoginThrottle {
  const g = globalThis as GlobalWithThrottle;
  g[GLOBAL_KEY] ??= new LoginThrottle();
  return g[GLOBAL_KEY];
}
