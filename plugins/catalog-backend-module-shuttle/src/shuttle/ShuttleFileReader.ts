import { UrlReaderService } from '@backstage/backend-plugin-api';
import { isError } from '@backstage/errors';
import { ShuttleFile, ShuttleParseOptions, parseShuttleYaml, DEFAULT_MAX_BYTES } from './parseShuttleYaml';
import { GuardedGetOptions, UnsafeUrlError, guardedGet } from './addressGuard';

/** What reading a repository's shuttle.yaml gave. */
export type ShuttleReadResult =
  | { status: 'absent' }
  | { status: 'ok'; file: ShuttleFile }
  | { status: 'invalid'; reason: string }
  | { status: 'error'; reason: string };

/** Options for {@link ShuttleFileReader}. */
export interface ShuttleFileReaderOptions {
  urlReader: UrlReaderService;
  /**
   * URLs read through Backstage's URL reader: the local git host and configured integration
   * hosts. Everything else goes through {@link guardedGet}, which refuses internal addresses.
   */
  isTrustedReaderUrl: (url: string) => boolean;
  /** Hosts the guarded reader may reach even if they resolve to internal addresses. */
  trustedHosts?: string[];
  parse?: ShuttleParseOptions;
  /** Entries kept in the ETag cache (default 10,000). */
  cacheSize?: number;
  /** For tests: DNS resolution used by the guarded reader. */
  resolve?: GuardedGetOptions['resolve'];
}

interface CacheEntry {
  etag: string;
  result: ShuttleReadResult;
}

/**
 * Reads and parses shuttle.yaml files, remembering the parsed result per URL with the ETag it
 * came with. An unchanged file costs one conditional read (answered with "not modified") and
 * no parse.
 */
export class ShuttleFileReader {
  private readonly cache = new Map<string, CacheEntry>();
  private readonly cacheSize: number;
  /** Counters, for the bench and tests. */
  readonly stats = { reads: 0, notModified: 0, parses: 0, absent: 0 };

  constructor(private readonly options: ShuttleFileReaderOptions) {
    this.cacheSize = Math.max(1, options.cacheSize ?? 10_000);
  }

  async read(url: string): Promise<ShuttleReadResult> {
    const cached = this.cache.get(url);
    this.stats.reads++;
    try {
      const got = this.options.isTrustedReaderUrl(url)
        ? await this.readTrusted(url, cached?.etag)
        : await this.readGuarded(url, cached?.etag);
      if (got.status === 'not-modified' && cached) {
        this.stats.notModified++;
        // refresh LRU position
        this.cache.delete(url);
        this.cache.set(url, cached);
        return cached.result;
      }
      if (got.status === 'not-modified') {
        // 304 although we sent no validator (no cached ETag): the host is broken. Asking again
        // would get the same answer (and used to loop), so this read fails.
        this.cache.delete(url);
        return {
          status: 'error',
          reason: `${new URL(url).host} answered 304 Not Modified to a request without a validator (no If-None-Match)`,
        };
      }
      if (got.status === 'absent') {
        this.stats.absent++;
        this.cache.delete(url);
        return { status: 'absent' };
      }
      if (got.status === 'invalid') {
        this.cache.delete(url);
        return { status: 'invalid', reason: got.reason };
      }
      this.stats.parses++;
      const parsed = parseShuttleYaml(got.buffer, this.options.parse);
      const result: ShuttleReadResult = parsed.ok
        ? { status: 'ok', file: parsed.file }
        : { status: 'invalid', reason: parsed.reason };
      this.remember(url, got.etag, result);
      return result;
    } catch (e) {
      this.cache.delete(url);
      if (e instanceof UnsafeUrlError) return { status: 'invalid', reason: e.message };
      return { status: 'error', reason: isError(e) ? e.message : String(e) };
    }
  }

  /** Number of cached entries (bounded by `cacheSize`). */
  get cachedEntries(): number {
    return this.cache.size;
  }

  private remember(url: string, etag: string | undefined, result: ShuttleReadResult) {
    this.cache.delete(url);
    if (!etag) return;
    this.cache.set(url, { etag, result });
    while (this.cache.size > this.cacheSize) {
      const oldest = this.cache.keys().next().value as string;
      this.cache.delete(oldest);
    }
  }

  private async readTrusted(url: string, etag?: string): Promise<Fetched> {
    try {
      const res = await this.options.urlReader.readUrl(url, etag ? { etag } : undefined);
      return { status: 'ok', buffer: await res.buffer(), etag: res.etag };
    } catch (e) {
      if (isError(e) && e.name === 'NotModifiedError') return { status: 'not-modified' };
      if (isError(e) && e.name === 'NotFoundError') return { status: 'absent' };
      throw e;
    }
  }

  private async readGuarded(url: string, etag?: string): Promise<Fetched> {
    const maxBytes = this.options.parse?.maxBytes ?? DEFAULT_MAX_BYTES;
    const res = await guardedGet(url, {
      etag,
      maxBytes,
      trustedHosts: this.options.trustedHosts,
      resolve: this.options.resolve,
    });
    switch (res.status) {
      case 'ok':
        return { status: 'ok', buffer: res.buffer, etag: res.etag };
      case 'not-modified':
        return { status: 'not-modified' };
      case 'not-found':
        return { status: 'absent' };
      default:
        return {
          status: 'invalid',
          reason: `shuttle.yaml is larger than the limit of ${maxBytes} bytes (stopped reading at ${res.bytes})`,
        };
    }
  }
}

type Fetched =
  | { status: 'ok'; buffer: Buffer; etag?: string }
  | { status: 'not-modified' }
  | { status: 'absent' }
  | { status: 'invalid'; reason: string };
