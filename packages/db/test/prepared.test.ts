// Which statements go as named prepared statements: those that begin with the PREPARED mark, each
// under a name taken from its text (the same in every process, so every connection of every
// instance prepares a statement once under one name), and nothing else.
import { describe, expect, it } from "vitest";
import { PREPARED, preparedName } from "../src/client";

describe("prepared statement names", () => {
  it("names a marked statement after its text, the same every time", () => {
    const sql = `${PREPARED} SELECT 1 WHERE $1::int > 0`;
    const name = preparedName({ sql });
    expect(name).toMatch(/^roster_[0-9a-f]{24}$/);
    expect(preparedName({ sql: `${sql}` })).toBe(name);
    expect(preparedName({ sql: `${PREPARED} SELECT 2 WHERE $1::int > 0` })).not.toBe(name);
  });

  it("leaves every other statement unnamed, as Prisma sends it", () => {
    expect(preparedName({ sql: "SELECT 1" })).toBeUndefined();
    expect(preparedName({ sql: ` ${PREPARED} SELECT 1` })).toBeUndefined();
  });

  it("stops naming new texts past a bound, so a stream of distinct texts cannot grow every connection's set", () => {
    const names = Array.from({ length: 100 }, (_, i) => preparedName({ sql: `${PREPARED} SELECT ${i}` }));
    const named = names.filter((n) => n !== undefined);
    expect(named.length).toBeGreaterThan(0);
    expect(named.length).toBeLessThanOrEqual(64);
    expect(new Set(named).size).toBe(named.length);
    // a text named before keeps its name
    expect(preparedName({ sql: `${PREPARED} SELECT 0` })).toBe(names[0]);
  });
});
