// The committed REST types must be what `npm run client:generate` writes today.
import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { GENERATED_FILE, generateOpenApiTypes } from "../scripts/generate";

describe("src/generated/openapi.ts", () => {
  it("matches the OpenAPI document", async () => {
    const fresh = await generateOpenApiTypes();
    const committed = fs.existsSync(GENERATED_FILE) ? fs.readFileSync(GENERATED_FILE, "utf8") : "";
    if (committed !== fresh) expect.fail("stale: run npm run client:generate");
    expect(fresh).toContain('"/api/v2/organizations/{organizationId}/memberships"');
  });
});
