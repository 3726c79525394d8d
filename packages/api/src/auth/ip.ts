// Client addresses behind proxies, and the trusted IP ranges (CIDR) of machine identities.
import type { IncomingMessage } from "node:http";
import net from "node:net";
import type { TrustProxy } from "@roster/config";
import ipaddr from "ipaddr.js";
import proxyaddr from "proxy-addr";

/** A normalised CIDR ("10.0.0.0/8", "2001:db8::/32", or a single address), or null when invalid. */
export function parseCidr(text: string): { address: string; prefix: number; family: "ipv4" | "ipv6" } | null {
  const [address = "", prefixText] = text.trim().split("/");
  const version = net.isIP(address);
  if (version === 0) return null;
  const max = version === 4 ? 32 : 128;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (
    !Number.isInteger(prefix) ||
    prefix < 0 ||
    prefix > max ||
    (prefixText !== undefined && !/^\d+$/.test(prefixText))
  ) {
    return null;
  }
  return { address, prefix, family: version === 4 ? "ipv4" : "ipv6" };
}

/** The refusal of an address outside an identity's trusted ranges (login and every token use). */
export const IP_NOT_ALLOWED = "You are not allowed to access this resource from the current IP address";

/** True when `ip` lies in one of the ranges; an empty list allows every address. */
export function ipAllowed(ip: string | null, ranges: readonly string[]): boolean {
  if (ranges.length === 0) return true;
  if (!ip) return false;
  const list = new net.BlockList();
  for (const r of ranges) {
    const cidr = parseCidr(r);
    if (cidr) list.addSubnet(cidr.address, cidr.prefix, cidr.family);
  }
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)?.[1];
  const address = mapped ?? ip;
  const family = net.isIP(address) === 6 ? "ipv6" : "ipv4";
  return net.isIP(address) !== 0 && list.check(address, family);
}

/** One address in its canonical spelling (an IPv4-mapped IPv6 address as IPv4), or null when it is not one. */
export function canonicalIp(text: string | null | undefined): string | null {
  const address = text?.trim() ?? "";
  if (net.isIP(address) === 0) return null;
  return ipaddr.process(address).toString();
}

type TrustFn = (address: string, index: number) => boolean;
const trustFns = new WeakMap<TrustProxy, TrustFn>();

function trustFn(trust: Exclude<TrustProxy, { kind: "none" }>): TrustFn {
  let fn = trustFns.get(trust);
  if (!fn) {
    // Index 0 is the connection's peer, 1 the address it appended, and so on leftwards.
    fn = trust.kind === "hops" ? (_address, index) => index < trust.hops : proxyaddr.compile(trust.ranges);
    trustFns.set(trust, fn);
  }
  return fn;
}

/**
 * The client's address behind the proxies that `trust` names. Each proxy appends the address it
 * received the request from to X-Forwarded-For, so only the right end of that header is vouched
 * for: the client is the first address from the right (the peer first) that is not a trusted
 * proxy. Anything further left was written by the client and is never read. An entry that is not
 * an IP address gives null (unknown), which no trusted-IP range admits.
 */
export function clientAddress(peer: string | null, forwardedFor: string | null, trust: TrustProxy): string | null {
  if (!peer) return null;
  if (trust.kind === "none") return canonicalIp(peer);
  // proxy-addr reads the peer and the header from a Node request; only these two fields are used.
  const req = { socket: { remoteAddress: peer }, headers: { "x-forwarded-for": forwardedFor ?? "" } };
  return canonicalIp(proxyaddr(req as unknown as IncomingMessage, trustFn(trust)));
}
