// The client's address behind proxies, from the connection's peer and X-Forwarded-For: read from
// the right, past the trusted proxies only, so nothing a client writes at the left is believed.
import type { TrustProxy } from "@roster/config";
import { describe, expect, it } from "vitest";
import { canonicalIp, clientAddress, ipAllowed } from "../src/auth/ip";

const NONE: TrustProxy = { kind: "none" };
const hops = (n: number): TrustProxy => ({ kind: "hops", hops: n });
const ranges = (...r: string[]): TrustProxy => ({ kind: "addresses", ranges: r });

describe("clientAddress", () => {
  it.each([
    // [peer, X-Forwarded-For, trust, client]
    ["203.0.113.5", "10.1.2.3", NONE, "203.0.113.5"],
    ["::ffff:203.0.113.5", null, NONE, "203.0.113.5"],
    // One proxy: the address it appended, whatever the client wrote before it.
    ["10.0.0.2", "10.1.2.3, 198.51.100.7", hops(1), "198.51.100.7"],
    ["10.0.0.2", "198.51.100.7", hops(1), "198.51.100.7"],
    // Two proxies, the client's own entry at the left.
    ["10.0.0.3", "10.1.2.3, 198.51.100.7, 10.0.0.2", hops(2), "198.51.100.7"],
    // Fewer entries than hops: the leftmost there is, which only a proxy can have written when
    // every request comes through them.
    ["10.0.0.3", "198.51.100.7", hops(2), "198.51.100.7"],
    // The proxies by address: the first untrusted one from the right.
    ["10.0.0.3", "10.1.2.3, 198.51.100.7, 10.0.0.2", ranges("10.0.0.0/24"), "198.51.100.7"],
    ["10.0.0.3", "10.1.2.3, 198.51.100.7, 10.0.0.2", ranges("10.0.0.2", "10.0.0.3"), "198.51.100.7"],
    // A client that reaches the server directly is the peer, whatever it writes.
    ["198.51.100.7", "10.1.2.3, 10.0.0.2", ranges("10.0.0.0/24"), "198.51.100.7"],
    // IPv4-mapped IPv6, in the peer, in the header and in the ranges alike.
    ["::ffff:10.0.0.3", "198.51.100.7, ::ffff:10.0.0.2", ranges("10.0.0.0/24"), "198.51.100.7"],
    ["10.0.0.3", "::ffff:198.51.100.7", hops(1), "198.51.100.7"],
    ["::ffff:10.0.0.3", "198.51.100.7", ranges("::ffff:10.0.0.0/120"), "198.51.100.7"],
    // IPv6.
    ["fd00::3", "2001:db8::7, fd00::2", ranges("fd00::/8"), "2001:db8::7"],
    ["fd00::3", "2001:DB8:0:0::7", hops(1), "2001:db8::7"],
  ] as const)("peer %s, X-Forwarded-For %j, %j: %s", (peer, forwarded, trust, expected) => {
    expect(clientAddress(peer, forwarded, trust)).toBe(expected);
  });

  it.each([
    // What is not an address is unknown (null), and an unknown address passes no trusted range.
    ["10.0.0.3", "198.51.100.7, junk", ranges("10.0.0.0/24")],
    ["10.0.0.3", "<script>", hops(1)],
    ["10.0.0.3", "127.1", hops(1)],
    ["", "198.51.100.7", hops(1)],
    [null, "198.51.100.7", NONE],
  ] as const)("peer %j, X-Forwarded-For %j, %j: unknown", (peer, forwarded, trust) => {
    const ip = clientAddress(peer, forwarded, trust);
    expect(ip).toBeNull();
    expect(ipAllowed(ip, ["0.0.0.0/0", "::/0"])).toBe(false);
  });

  it("never reads the header without TRUST_PROXY", () => {
    expect(clientAddress("127.0.0.1", "10.1.2.3", NONE)).toBe("127.0.0.1");
  });
});

describe("canonicalIp", () => {
  it.each([
    ["127.0.0.1", "127.0.0.1"],
    ["::FFFF:127.0.0.1", "127.0.0.1"],
    [" 2001:0db8::0001 ", "2001:db8::1"],
    ["::1", "::1"],
    ["127.000.0.1", null],
    ["", null],
  ])("%j is %j", (text, expected) => {
    expect(canonicalIp(text)).toBe(expected);
  });
});
