import dns from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';

/**
 * Addresses a URL read by the catalog must never reach unless the host is explicitly trusted:
 * loopback, private (RFC 1918, unique local), link-local (cloud metadata at 169.254.169.254),
 * carrier-grade NAT, unspecified, multicast and reserved ranges.
 */
const blocked = new net.BlockList();
for (const [net4, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  blocked.addSubnet(net4, prefix, 'ipv4');
}
for (const [net6, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
  ['2001:db8::', 32],
] as const) {
  blocked.addSubnet(net6, prefix, 'ipv6');
}

/** True when the IP address is loopback, private, link-local or otherwise internal. */
export function isInternalAddress(address: string): boolean {
  const family = net.isIP(address);
  if (family === 4) return blocked.check(address, 'ipv4');
  if (family === 6) {
    const lower = address.toLowerCase();
    // IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible and NAT64 (64:ff9b::a.b.c.d) forms.
    const embedded = /^(?:::ffff:|::|64:ff9b::)(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
    if (embedded) return isInternalAddress(embedded[1]);
    const hexMapped = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(lower);
    if (hexMapped) {
      const hi = parseInt(hexMapped[1], 16);
      const lo = parseInt(hexMapped[2], 16);
      return isInternalAddress(`${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`);
    }
    return blocked.check(address, 'ipv6');
  }
  return true; // not an IP at all: refuse
}

/** Thrown when a URL (or a redirect) points at an internal address. */
export class UnsafeUrlError extends Error {
  name = 'UnsafeUrlError';
}

/** Result of {@link guardedGet}. */
export type GuardedGetResult =
  | { status: 'ok'; buffer: Buffer; etag?: string; finalUrl: string }
  | { status: 'not-modified' }
  | { status: 'not-found' }
  | { status: 'too-large'; bytes: number };

/** Options for {@link guardedGet}. */
export interface GuardedGetOptions {
  etag?: string;
  /** Stop reading after this many bytes and report `too-large`. */
  maxBytes: number;
  /** `host` or `host:port` values that may resolve to internal addresses (configured by an operator). */
  trustedHosts?: string[];
  /** Redirect hops to follow (default 3). */
  maxRedirects?: number;
  timeoutMs?: number;
  /** Resolver, for tests. Defaults to `dns.lookup` with `all: true`. */
  resolve?: (hostname: string) => Promise<string[]>;
}

function hostTrusted(url: URL, trusted: string[]): boolean {
  const host = url.host.toLowerCase();
  const hostname = url.hostname.toLowerCase();
  return trusted.some(t => {
    const x = t.toLowerCase();
    return x === host || x === hostname;
  });
}

const defaultResolve = async (hostname: string) =>
  (await dns.promises.lookup(hostname, { all: true, verbatim: true })).map(a => a.address);

/**
 * Checks that a URL's host resolves only to public addresses (or is trusted) and returns the
 * address to connect to. IP literals are checked directly.
 */
export async function checkUrlAddress(
  url: URL,
  trustedHosts: string[] = [],
  resolve: (hostname: string) => Promise<string[]> = defaultResolve,
): Promise<string | undefined> {
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UnsafeUrlError(`refused ${url.protocol} URL ${url.href}: only http and https are read`);
  }
  if (hostTrusted(url, trustedHosts)) return undefined;
  const hostname = url.hostname.replace(/^\[|\]$/g, '');
  let addresses: string[];
  if (net.isIP(hostname)) {
    addresses = [hostname];
  } else {
    try {
      addresses = await resolve(hostname);
    } catch (e: any) {
      throw new UnsafeUrlError(`cannot resolve ${hostname}: ${e?.code ?? e?.message ?? e}`);
    }
  }
  if (addresses.length === 0) throw new UnsafeUrlError(`cannot resolve ${hostname}`);
  const bad = addresses.find(isInternalAddress);
  if (bad) {
    throw new UnsafeUrlError(
      `refused ${url.href}: ${hostname} resolves to internal address ${bad} (loopback, private or link-local)`,
    );
  }
  return addresses[0];
}

/**
 * GET with every hop checked: the first URL and each redirect target must resolve to public
 * addresses (unless their host is trusted), and the connection is pinned to the checked
 * address so DNS cannot change between check and connect. Reads at most `maxBytes`.
 */
export async function guardedGet(rawUrl: string, options: GuardedGetOptions): Promise<GuardedGetResult> {
  const trusted = options.trustedHosts ?? [];
  const maxRedirects = options.maxRedirects ?? 3;
  let url = new URL(rawUrl);
  for (let hop = 0; ; hop++) {
    const pinned = await checkUrlAddress(url, trusted, options.resolve);
    const res = await requestOnce(url, pinned, options);
    if (res.kind === 'redirect') {
      if (hop >= maxRedirects) throw new UnsafeUrlError(`too many redirects reading ${rawUrl}`);
      url = new URL(res.location, url);
      continue;
    }
    if (res.kind === 'result') {
      return res.result.status === 'ok' ? { ...res.result, finalUrl: url.href } : res.result;
    }
  }
}

type Once =
  | { kind: 'redirect'; location: string }
  | { kind: 'result'; result: GuardedGetResult };

function requestOnce(url: URL, pinned: string | undefined, options: GuardedGetOptions): Promise<Once> {
  return new Promise<Once>((resolvePromise, reject) => {
    const mod = url.protocol === 'https:' ? https : http;
    const headers: Record<string, string> = { accept: '*/*', 'user-agent': 'devplane-shuttle' };
    if (options.etag) headers['if-none-match'] = options.etag;
    const req = mod.request(
      url,
      {
        method: 'GET',
        headers,
        timeout: options.timeoutMs ?? 10_000,
        ...(pinned
          ? {
              lookup: ((_h: string, opts: any, cb: any) => {
                if (opts?.all) cb(null, [{ address: pinned, family: net.isIP(pinned) }]);
                else cb(null, pinned, net.isIP(pinned));
              }) as any,
            }
          : {}),
      },
      res => {
        const status = res.statusCode ?? 0;
        if (status >= 300 && status < 400 && status !== 304 && res.headers.location) {
          res.resume();
          resolvePromise({ kind: 'redirect', location: res.headers.location });
          return;
        }
        if (status === 304) {
          res.resume();
          resolvePromise({ kind: 'result', result: { status: 'not-modified' } });
          return;
        }
        if (status === 404 || status === 410) {
          res.resume();
          resolvePromise({ kind: 'result', result: { status: 'not-found' } });
          return;
        }
        if (status < 200 || status >= 300) {
          res.resume();
          reject(new Error(`reading ${url.href} failed with HTTP ${status}`));
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > options.maxBytes) {
            req.destroy();
            resolvePromise({ kind: 'result', result: { status: 'too-large', bytes: size } });
            return;
          }
          chunks.push(c);
        });
        res.on('end', () => {
          const etag = res.headers.etag;
          resolvePromise({
            kind: 'result',
            result: { status: 'ok', buffer: Buffer.concat(chunks), etag, finalUrl: url.href },
          });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`reading ${url.href} timed out`)));
    req.on('error', reject);
    req.end();
  });
}
