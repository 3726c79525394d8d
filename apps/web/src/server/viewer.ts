// Server-side access for pages: the signed-in caller through the same tRPC router and the same
// verification path as every other surface.
import { clientIp, createCaller, createInnerContext } from "@roster/api";
import { getDb } from "@roster/db";
import { cookies, headers } from "next/headers";
import { redirect } from "next/navigation";
import { safeCallbackPath } from "@/lib/safe-callback";
import { webSessionFromCookie } from "./web-session";

// Set by the web server (server.mjs) from the request line, overwriting anything a client sent.
const REQUEST_PATH_HEADER = "x-roster-request-path";

/** The sign-in page, bringing the browser back to the page it asked for afterwards. */
async function signInUrl(extra = ""): Promise<string> {
  const asked = safeCallbackPath((await headers()).get(REQUEST_PATH_HEADER) ?? undefined);
  const back = asked === "/" ? "" : `callbackUrl=${encodeURIComponent(asked)}`;
  const query = [extra, back].filter(Boolean).join("&");
  return query ? `/signin?${query}` : "/signin";
}

/** A tRPC caller for the signed-in user; redirects to sign-in when there is none or it was revoked. */
export async function requireCaller() {
  const jar = await cookies();
  const session = await webSessionFromCookie((name) => jar.get(name)?.value);
  if (!session) redirect(await signInUrl());
  const h = await headers();
  const caller = createCaller(
    createInnerContext({
      prisma: await getDb(),
      auth: { kind: "web", session },
      ip: clientIp(h),
      userAgent: h.get("user-agent"),
    }),
  );
  return caller;
}

/** Runs a page's query; a stale or missing session sends the browser to sign in again. */
export async function withSession<T>(
  fn: (caller: Awaited<ReturnType<typeof requireCaller>>) => Promise<T>,
): Promise<T> {
  const caller = await requireCaller();
  try {
    return await fn(caller);
  } catch (err) {
    const status = (err as { cause?: { status?: number } }).cause?.status;
    if (status === 401) redirect(await signInUrl("expired=1"));
    throw err;
  }
}
