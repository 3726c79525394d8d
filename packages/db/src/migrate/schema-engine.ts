// Loads Prisma's schema engine compiled to WebAssembly (@prisma/schema-engine-wasm, pinned exactly:
// it is an internal API). The package entry does `import * as wasm from "./schema_engine_bg.wasm"`,
// which Node 20 cannot import, so the module is instantiated by hand with the package's JS glue as
// its import object, as the entry would.
import fs from "node:fs/promises";
import { createRequire } from "node:module";
import path from "node:path";
import type { SchemaEngine } from "@prisma/schema-engine-wasm";
import * as glue from "@prisma/schema-engine-wasm/schema_engine_bg";

export type { SchemaEngine };

// The ES2023 lib has no WebAssembly types (they come with the DOM lib): describe the one call used.
declare const WebAssembly: {
  instantiate(bytes: Uint8Array, imports: object): Promise<{ instance: { exports: Record<string, unknown> } }>;
};

let loading: Promise<typeof glue.SchemaEngine> | undefined;
let panic: string | undefined;

/** The message of the engine's last Rust panic (the wasm call itself then fails with "unreachable"). */
export function takeEnginePanic(): string | undefined {
  const message = panic;
  panic = undefined;
  return message;
}

/** The engine class, with the wasm module instantiated once per process. */
export function loadSchemaEngine(): Promise<typeof glue.SchemaEngine> {
  loading ??= (async () => {
    // The engine's panic hook writes to this global, as Prisma's CLI sets it up; without it a panic
    // turns into a TypeError that hides the reason.
    const g = globalThis as { PRISMA_WASM_PANIC_REGISTRY?: { set_message(message: string): void } };
    g.PRISMA_WASM_PANIC_REGISTRY ??= {
      set_message: (message) => {
        panic = message;
      },
    };
    const gluePath = createRequire(import.meta.url).resolve("@prisma/schema-engine-wasm/schema_engine_bg");
    const bytes = await fs.readFile(path.join(path.dirname(gluePath), "schema_engine_bg.wasm"));
    const { instance } = await WebAssembly.instantiate(bytes, {
      "./schema_engine_bg.js": glue,
    });
    glue.__wbg_set_wasm(instance.exports);
    (instance.exports.__wbindgen_start as () => void)();
    return glue.SchemaEngine;
  })();
  return loading;
}
