// The error map's line between "the database is unavailable" (503) and a fault of the service
// (500), on real failures from Prisma and pg rather than hand-made error objects.
import { freePort } from "@roster/config/net";
import { openDb } from "@roster/db";
import { afterAll, describe, expect, inject, it } from "vitest";
import { InternalServerError, ServiceUnavailableError, toAppError } from "../src/errors";
import { openTestDb } from "./support";

async function failure(run: () => Promise<unknown>): Promise<unknown> {
  try {
    await run();
  } catch (err) {
    return err;
  }
  throw new Error("expected a failure");
}

describe("toAppError", () => {
  const handles: { close(): Promise<void> }[] = [];
  afterAll(async () => {
    await Promise.all(handles.map((h) => h.close()));
  });

  it("answers 503 when no database listens at the address", async () => {
    const handle = await openDb({
      kind: "postgres",
      url: `postgresql://postgres@127.0.0.1:${await freePort()}/none`,
    });
    handles.push(handle);
    const err = await failure(() => handle.prisma.$queryRaw`SELECT 1`);
    expect(toAppError(err)).toBeInstanceOf(ServiceUnavailableError);
    expect(toAppError(err)).toMatchObject({
      status: 503,
      errorName: "ServiceUnavailable",
      message: "The database is unavailable. Please try again shortly.",
    });
  });

  // The embedded database (PGlite) is one process serving every connection: nothing to terminate.
  it.skipIf(inject("databaseKind") !== "postgres")(
    "answers 503 when the database ends the connection a transaction is using",
    async () => {
      const handle = await openTestDb({ poolSize: 1 });
      handles.push(handle);
      const err = await failure(() =>
        handle.prisma.$transaction(async (tx) => {
          await tx.$queryRaw`SELECT pg_terminate_backend(pg_backend_pid())`;
        }),
      );
      expect(toAppError(err)).toBeInstanceOf(ServiceUnavailableError);
      // The pool replaced the dead connection: the same client works again.
      expect(await handle.prisma.$queryRaw`SELECT 1 AS one`).toEqual([{ one: 1 }]);
    },
  );

  it("keeps 500 for the service's own faults: bad SQL, a broken constraint", async () => {
    const handle = await openTestDb();
    handles.push(handle);
    const syntax = await failure(() => handle.prisma.$queryRawUnsafe("SELEC 1"));
    expect(toAppError(syntax)).toBeInstanceOf(InternalServerError);
    const [org] = await handle.prisma.organization.findMany({ take: 1 });
    const duplicate = await failure(() =>
      handle.prisma.organization.create({ data: { name: "dup", slug: org?.slug as string } }),
    );
    expect(toAppError(duplicate)).toBeInstanceOf(InternalServerError);
  });
});
