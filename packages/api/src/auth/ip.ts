// Trusted IP ranges (CIDR) of machine identities.
import net from "node:net";

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
