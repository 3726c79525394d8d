import { readFile } from "node:fs/promises";
import path from "node:path";
import { repoRoot } from "@roster/config";

export const dynamic = "force-dynamic";

let bundle: Promise<Buffer> | undefined;

/** The API reference's browser bundle, from the installed package (no CDN). */
export async function GET(): Promise<Response> {
  bundle ??= readFile(
    path.join(/*turbopackIgnore: true*/ repoRoot(), "node_modules/@scalar/api-reference/dist/browser/standalone.js"),
  );
  return new Response(new Uint8Array(await bundle), {
    headers: { "content-type": "text/javascript; charset=utf-8", "cache-control": "public, max-age=3600" },
  });
}
