// Retries that are safe: a request is sent again only when repeating it cannot do its work twice,
// that is a read (GET, HEAD) or a write carrying an Idempotency-Key, which the server answers
// once and then replays (IETF httpapi-idempotency-key-header draft). Retried: a network failure
// or a timeout (the answer may be lost after the server acted: the key makes that safe), a 5xx,
// a 429, and a 409 with Retry-After (the same key still running). Waits grow exponentially with
// full jitter; Retry-After, where the server sends it, is honoured.

export const IDEMPOTENCY_KEY_HEADER = "Idempotency-Key";

export interface RetryOptions {
  /** Attempts in all, the first included (default 5; 1 turns retries off). */
  attempts?: number;
  /** The first wait's ceiling in ms (default 250); doubled for each attempt, up to maxDelayMs. */
  baseDelayMs?: number;
  /** The longest wait between attempts in ms (default 10,000), Retry-After included. */
  maxDelayMs?: number;
  /** How long one attempt may take, answer body included, in ms (default 60,000). */
  timeoutMs?: number;
  /** Told before each retry: the attempt that failed (1 for the first), why, and the wait. */
  onRetry?: (info: { attempt: number; reason: string; delayMs: number }) => void;
}

/** An Idempotency-Key header value: the key as an RFC 8941 sf-string (quotes and backslashes escaped). */
export function idempotencyKeyHeader(key: string): string {
  return `"${key.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** A new key for one request (a random UUID). */
export function newIdempotencyKey(): string {
  return crypto.randomUUID();
}

/** The wait before attempt `attempt + 1`: up to base × 2^(attempt-1), at random (full jitter). */
export function backoffMs(attempt: number, opts: Pick<RetryOptions, "baseDelayMs" | "maxDelayMs"> = {}): number {
  const ceiling = Math.min(opts.maxDelayMs ?? 10_000, (opts.baseDelayMs ?? 250) * 2 ** (attempt - 1));
  return Math.floor(Math.random() * ceiling);
}

/** Retry-After in ms (seconds or an HTTP date), or null. */
function retryAfterMs(response: Response): number | null {
  const value = response.headers.get("retry-after")?.trim();
  if (!value) return null;
  if (/^\d+$/.test(value)) return Number(value) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? null : Math.max(0, at - Date.now());
}

/** Why an answer is worth another attempt, or null. */
function retryReason(response: Response): string | null {
  if (response.status >= 500) return `${response.status} answer`;
  if (response.status === 429) return "429 rate limited";
  // A 409 with Retry-After is the same key still running; a restore's 409 (its conflicts) has none.
  if (response.status === 409 && response.headers.has("retry-after")) return "409 still running";
  return null;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function isRetriable(request: Request): boolean {
  return request.method === "GET" || request.method === "HEAD" || request.headers.has(IDEMPOTENCY_KEY_HEADER);
}

/**
 * A fetch that retries as above. Each attempt sends a copy of the request and reads the answer's
 * body in full, so a connection lost mid-answer is retried too. Requests that are not safe to
 * repeat are sent once, as they are. The caller's own abort signal stops everything.
 */
export function retryingFetch(
  fetchFn: (input: Request) => Promise<Response>,
  opts: RetryOptions = {},
): (input: Request) => Promise<Response> {
  const attempts = Math.max(1, opts.attempts ?? 5);
  const timeoutMs = opts.timeoutMs ?? 60_000;
  return async (request) => {
    if (!isRetriable(request)) return fetchFn(request);
    // The body, read once, so that every attempt can send it.
    const body = request.body ? await request.arrayBuffer() : null;
    for (let attempt = 1; ; attempt++) {
      const signal = AbortSignal.any([request.signal, AbortSignal.timeout(timeoutMs)]);
      let reason: string;
      let wait: number | null = null;
      try {
        const response = await fetchFn(new Request(request, { body, signal }));
        const buffered = await response.arrayBuffer();
        const noBody = [101, 204, 205, 304].includes(response.status);
        const answer = new Response(noBody ? null : buffered, response);
        const why = retryReason(answer);
        if (why === null || attempt >= attempts) return answer;
        reason = why;
        wait = retryAfterMs(answer);
      } catch (err) {
        // The caller gave up, or no attempts are left: theirs to see.
        if (request.signal.aborted || attempt >= attempts) throw err;
        reason = signal.aborted ? `no answer within ${timeoutMs} ms` : `network error: ${(err as Error).message}`;
      }
      const delayMs = Math.min(opts.maxDelayMs ?? 10_000, wait ?? backoffMs(attempt, opts));
      opts.onRetry?.({ attempt, reason, delayMs });
      await sleep(delayMs);
    }
  };
}
