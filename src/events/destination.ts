/**
 * Where Provisio may send a webhook: the guard that keeps the server from becoming a proxy into its own
 * network (issue "events out": https only, http for localhost or when enabled, no private or link-local
 * address unless configured). The URL is checked when an endpoint is saved and again before each
 * delivery; the address is checked when the connection is made (`guardedLookup`), so a name that
 * resolves to a public address at save time and to 169.254.169.254 later (DNS rebinding) is still refused.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

export interface DestinationPolicy {
  /** Plain http to any host (else only to localhost, for development). */
  readonly allowHttp: boolean;
  /** Networks a receiver may be in although private, loopback or link-local (CIDR, e.g. `10.20.0.0/16`). */
  readonly allowedNetworks: readonly string[];
}

export const STRICT_DESTINATIONS: DestinationPolicy = { allowHttp: false, allowedNetworks: [] };

export class DestinationError extends Error {
  override name = 'DestinationError';
}

const LOCAL_NAMES = new Set(['localhost', '127.0.0.1', '[::1]']);

/** ipaddr.js ranges a receiver on the public internet is never in. */
const PUBLIC_RANGES = new Set(['unicast']);

/** The URL as a webhook endpoint may name it; a `DestinationError` says what is wrong. */
export function checkDestinationUrl(raw: string, policy: DestinationPolicy): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new DestinationError(`"${raw.slice(0, 200)}" is not an absolute URL`);
  }
  if (url.username || url.password) throw new DestinationError('A webhook URL must not carry credentials: sign with the endpoint secret instead');
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new DestinationError(`Webhook URLs use https, not ${url.protocol}`);
  if (url.protocol === 'http:' && !policy.allowHttp && !LOCAL_NAMES.has(url.hostname)) {
    throw new DestinationError('Webhook URLs use https (plain http is accepted for localhost only, unless WEBHOOK_ALLOW_HTTP=true)');
  }
  // A literal address is judged now; a name when it is resolved for the connection.
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host)) checkAddress(host, policy);
  return url;
}

/** Refuses an address outside the public internet unless a configured network holds it. */
export function checkAddress(address: string, policy: DestinationPolicy): void {
  let parsed = ipaddr.parse(address);
  // ::ffff:10.0.0.1 is 10.0.0.1.
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  const range = parsed.range();
  if (PUBLIC_RANGES.has(range)) return;
  for (const cidr of policy.allowedNetworks) {
    const [network, bits] = ipaddr.parseCIDR(cidr);
    if (network.kind() === parsed.kind() && parsed.match(network, bits)) return;
  }
  throw new DestinationError(`${address} is a ${range} address: webhooks go to the public internet only (allow a network with WEBHOOK_ALLOWED_NETWORKS)`);
}

/** Whether every configured network is a valid CIDR (the configuration's check). */
export function isValidNetwork(cidr: string): boolean {
  try {
    ipaddr.parseCIDR(cidr);
    return true;
  } catch {
    return false;
  }
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `dns.lookup` for the HTTP client's connections: resolves as usual, then refuses when any address the
 * name has is not allowed (a name with one public and one private address is refused: the client could
 * connect to either).
 */
export function guardedLookup(policy: DestinationPolicy): (hostname: string, options: object, callback: LookupCallback) => void {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses) => {
      if (err) return callback(err, []);
      try {
        for (const a of addresses) checkAddress(a.address, policy);
      } catch (refused) {
        return callback(refused as NodeJS.ErrnoException, []);
      }
      const wantsAll = (options as { all?: boolean }).all === true;
      if (wantsAll) return callback(null, addresses);
      const first = addresses[0];
      if (!first) return callback(Object.assign(new Error(`${hostname} has no address`), { code: 'ENOTFOUND' }), []);
      return callback(null, first.address, first.family);
    });
  };
}
