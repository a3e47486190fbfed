/**
 * What the SCIM throttle costs per request (issue 15 allows 3 % with it on): `RequestThrottle.take` over
 * 1,000 tenants with one token each, 2,000,000 calls after a warm-up. With the default limit most calls in
 * this tight loop are refusals (the buckets run dry); with a limit no loop reaches, every call is admitted:
 *   npx tsx bench/throttle.ts                                   # default 100/s,burst=500: mostly refusals
 *   LIMIT='1000000/s,burst=10000000' npx tsx bench/throttle.ts  # every call admitted
 * Not a test; run by hand. Compare with the node CPU of one request (about 1 ms for a GET in the profile).
 */
import { performance } from 'node:perf_hooks';
import { parseRateLimit } from '../src/config.js';
import { RequestThrottle } from '../src/scim/throttle.js';

const limit = parseRateLimit('LIMIT', process.env.LIMIT ?? '100/s,burst=500');
if (!limit) throw new Error('LIMIT=off measures nothing');
const throttle = new RequestThrottle(limit);
const keys = Array.from({ length: 1000 }, (_, i) => ({ tenantId: `tenant-${i}`, tokenId: `token-${i}` }));
for (let i = 0; i < 200_000; i++) throttle.take(keys[i % keys.length]!);
const calls = 2_000_000;
let refused = 0;
const started = performance.now();
for (let i = 0; i < calls; i++) if (throttle.take(keys[i % keys.length]!)) refused++;
const nsPerCall = ((performance.now() - started) * 1e6) / calls;
console.log(JSON.stringify({ limit, calls, refused, nsPerCall: Math.round(nsPerCall) }));
