/**
 * The tip of one branch of an HTTP(S) git remote, asked in process: git's protocol v2 `ls-refs`
 * command, one POST to `<remote>/git-upload-pack` — what `git ls-remote` sends after its
 * capability request — instead of spawning `git` and its HTTP helper (`git-remote-http`). On the
 * 2 shared cores these benchmarks run on, those two processes cost 0.3–0.6 s per look at the
 * remote, and every read of the config repo's state looks (at most once a second).
 *
 * It answers only what it can answer exactly like git; otherwise `undefined`, and the caller asks
 * `git ls-remote` as before:
 *   - not http(s), or credentials in the URL (fetch() refuses them; git knows what to do);
 *   - `http.*`/`url.*` settings in the clone's git config (a proxy, a CA file, an `insteadOf`
 *     rewrite): the caller checks once. git runs with a clean environment here (`gitEnv`: no
 *     system or global config, no proxy variables), so the clone's config is all git would use;
 *   - a TLS certificate Node does not trust (git may use the system's store): the request fails;
 *   - a redirect, a non-200 status, a content type other than the upload-pack result, a timeout,
 *     a network error, or any answer that is not a well-formed v2 `ls-refs` listing (a server
 *     without protocol v2 answers such a request with an error).
 */

const OID = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

/** One pkt-line (length prefix of 4 hex digits including itself). */
export function pkt(line: string): string {
  return (Buffer.byteLength(line) + 4).toString(16).padStart(4, '0') + line;
}

/** The `ls-refs` request for exactly `ref`: command, delimiter, argument, flush. */
export function lsRefsRequest(ref: string): string {
  return `${pkt('command=ls-refs\n')}0001${pkt(`ref-prefix ${ref}\n`)}0000`;
}

/**
 * Reads a v2 `ls-refs` answer: pkt-lines `<oid> <refname>[ <attribute>...]`, then a flush.
 * The oid of `ref` ('' when not listed), or undefined when the answer is malformed.
 */
export function parseLsRefs(body: Buffer, ref: string): string | undefined {
  let at = 0;
  let found = '';
  while (at + 4 <= body.length) {
    const lenHex = body.subarray(at, at + 4).toString('latin1');
    if (!/^[0-9a-f]{4}$/.test(lenHex)) return undefined;
    const len = parseInt(lenHex, 16);
    if (len === 0) return at + 4 === body.length ? found : undefined; // flush ends the listing
    if (len < 4 || at + len > body.length) return undefined; // delimiters do not belong in ls-refs
    const line = body.subarray(at + 4, at + len).toString('utf8').replace(/\n$/, '');
    at += len;
    const [oid, name] = line.split(' ');
    if (!OID.test(oid ?? '') || !name) return undefined; // "ERR ..." included
    if (name === ref) found = oid;
  }
  return undefined; // no flush: cut short
}

export async function remoteRefOverHttp(
  remoteUrl: string,
  ref: string,
  options: { token?: string; timeoutMs?: number } = {},
): Promise<string | undefined> {
  let url: URL;
  try {
    url = new URL(remoteUrl);
  } catch {
    return undefined;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined;
  if (url.username || url.password || url.search || url.hash) return undefined;
  const headers: Record<string, string> = {
    'Content-Type': 'application/x-git-upload-pack-request',
    Accept: 'application/x-git-upload-pack-result',
    'Git-Protocol': 'version=2',
    'User-Agent': 'git/2 devplane-release-manager',
  };
  // The same credentials git sends (GitOpsWriter's http.extraHeader).
  if (options.token) {
    headers.Authorization = `Basic ${Buffer.from(`x-access-token:${options.token}`).toString('base64')}`;
  }
  try {
    const res = await fetch(`${url.href.replace(/\/+$/, '')}/git-upload-pack`, {
      method: 'POST',
      headers,
      body: lsRefsRequest(ref),
      redirect: 'manual',
      signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
    });
    const body = Buffer.from(await res.arrayBuffer());
    if (res.status !== 200) return undefined;
    if (!(res.headers.get('content-type') ?? '').startsWith('application/x-git-upload-pack-result')) {
      return undefined;
    }
    return parseLsRefs(body, ref);
  } catch {
    return undefined;
  }
}
