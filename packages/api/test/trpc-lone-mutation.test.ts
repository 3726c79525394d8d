// Which tRPC requests the endpoint answers itself (a lone mutation call: serveLoneMutation) and
// which it leaves to tRPC's fetch adapter. That both answer alike is api-routes-parity.test.ts's.
import { describe, expect, it } from "vitest";
import { loneMutationPath } from "../src/http/trpc-handler";

const json = { "content-type": "application/json" };
const at = (target: string) => new URL(`http://roster.invalid${target}`);
const path = (target: string, headers: Record<string, string | string[] | undefined> = json, method = "POST") =>
  loneMutationPath(at(target), method, headers);

describe("loneMutationPath", () => {
  it("takes a POST of one mutation with a JSON body", () => {
    expect(path("/api/trpc/organizations.bulkDeleteMemberships")).toBe("organizations.bulkDeleteMemberships");
    expect(path("/api/trpc/organizations.restoreMemberships")).toBe("organizations.restoreMemberships");
    // tRPC matches the media type so: any case, parameters after it.
    expect(
      path("/api/trpc/organizations.bulkDeleteMemberships", { "content-type": "Application/JSON; charset=utf-8" }),
    ).toBe("organizations.bulkDeleteMemberships");
    // "?" alone is no query.
    expect(path("/api/trpc/organizations.bulkDeleteMemberships?")).toBe("organizations.bulkDeleteMemberships");
  });

  it("leaves everything else to the adapter", () => {
    const removal = "/api/trpc/organizations.bulkDeleteMemberships";
    // Another method; a query; a procedure the router does not have.
    expect(path(removal, json, "GET")).toBeNull();
    expect(path(removal, json, "PUT")).toBeNull();
    expect(path("/api/trpc/viewer.me")).toBeNull();
    expect(path("/api/trpc/organizations.listMemberships")).toBeNull();
    expect(path("/api/trpc/no.such.procedure")).toBeNull();
    expect(path("/api/trpc/constructor")).toBeNull();
    expect(path("/api/trpc/toString")).toBeNull();
    // A batch, or any query string; a path tRPC would decode or trim.
    expect(path(`${removal}?batch=1`)).toBeNull();
    expect(path(`${removal}?input=x`)).toBeNull();
    expect(path(`${removal}/`)).toBeNull();
    expect(path("/api/trpc//organizations.bulkDeleteMemberships")).toBeNull();
    expect(path("/api/trpc/organizations%2EbulkDeleteMemberships")).toBeNull();
    expect(path("/api/trpc/organizations.bulkDeleteMemberships,organizations.restoreMemberships")).toBeNull();
    expect(path("/api/trpcx/organizations.bulkDeleteMemberships")).toBeNull();
    // Another content type, or none; an answer asked for as a stream.
    expect(path(removal, { "content-type": "text/plain" })).toBeNull();
    expect(path(removal, { "content-type": "application/jsonx" })).toBeNull();
    expect(path(removal, {})).toBeNull();
    expect(path(removal, { ...json, "trpc-accept": "application/jsonl" })).toBeNull();
    expect(path(removal, { ...json, accept: "application/json, application/jsonl" })).toBeNull();
  });
});
