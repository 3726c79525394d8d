// Where to go after sign-in: only a path on this site. Browsers read `\` as `/` and drop tabs and
// newlines inside URLs, so `/\evil.example` (or `/%5Cevil.example` once decoded), `//evil.example`
// and `/<tab>/evil.example` all leave the site; so does `/.//evil.example` once normalised. Anything
// doubtful becomes "/".

const PLACEHOLDER_ORIGIN = "http://roster.invalid";
const MAX_LENGTH = 2048;

/**
 * `raw` as a same-origin path (with its query and fragment), or "/" when it is not one. An absolute
 * URL is accepted only on `ownOrigin` (next-auth sends those).
 */
export function safeCallbackPath(raw: unknown, ownOrigin?: string): string {
  if (typeof raw !== "string" || raw === "" || raw.length > MAX_LENGTH) return "/";
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is refused
  if (/[\u0000-\u001f\u007f\\]/.test(raw)) return "/";
  let url: URL;
  try {
    if (raw.startsWith("/")) {
      url = new URL(raw, PLACEHOLDER_ORIGIN);
      if (url.origin !== PLACEHOLDER_ORIGIN) return "/";
    } else {
      if (!ownOrigin) return "/";
      url = new URL(raw);
      if (url.origin !== new URL(ownOrigin).origin) return "/";
    }
  } catch {
    return "/";
  }
  const path = `${url.pathname}${url.search}${url.hash}`;
  return path.startsWith("/") && !path.startsWith("//") ? path : "/";
}
