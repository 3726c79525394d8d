// Every API route served from Next's Pages Router (apps/web/src/pages/api) exports the config the
// shared helpers need: Next's body parser off (the helpers read and limit the body themselves;
// with Next's parser on, the body would be gone before they read it and the request would hang),
// the helper as the one that answers, and no cap on a streamed listing's size. Next reads the
// config as written in each file, so each file holds the literal; this test holds them to
// ROUTE_CONFIG.
import fs from "node:fs";
import path from "node:path";
import { ROUTE_CONFIG } from "@roster/api/http";
import { describe, expect, it } from "vitest";

const root = path.resolve(import.meta.dirname, "../src/pages/api");

function routeFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? routeFiles(path.join(dir, e.name)) : [path.join(dir, e.name)]));
}

describe("API routes on the Pages Router", () => {
  const files = routeFiles(root);

  it("serve the REST operations and tRPC", () => {
    expect(files.map((f) => path.relative(root, f)).sort()).toEqual([
      "trpc/[trpc].ts",
      "v1/auth/token/renew.ts",
      "v1/auth/token/revoke.ts",
      "v1/auth/universal-auth/login.ts",
      "v2/organizations/[organizationId]/memberships/index.ts",
      "v2/organizations/[organizationId]/memberships/restore.ts",
    ]);
  });

  it.each(files.map((f) => [path.relative(root, f), f]))("%s exports the helpers' config", (_, file) => {
    const source = fs.readFileSync(file, "utf8");
    const literal = /^export const config = (\{.*\});$/m.exec(source)?.[1];
    expect(literal, "an `export const config = { ... };` on one line").toBeDefined();
    expect(new Function(`return (${literal});`)()).toEqual(ROUTE_CONFIG);
  });
});
