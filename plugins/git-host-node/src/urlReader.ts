import { Readable } from 'node:stream';
import {
  UrlReaderService,
  UrlReaderServiceReadTreeOptions,
  UrlReaderServiceReadTreeResponse,
  UrlReaderServiceReadUrlOptions,
  UrlReaderServiceReadUrlResponse,
  UrlReaderServiceSearchOptions,
  UrlReaderServiceSearchResponse,
} from '@backstage/backend-plugin-api';
import {
  ReadTreeResponseFactory,
  ReaderFactory,
  urlReaderFactoriesServiceRef,
} from '@backstage/backend-defaults/urlReader';
import { createServiceFactory } from '@backstage/backend-plugin-api';
import { NotFoundError, NotModifiedError } from '@backstage/errors';
import { GitCommandError, runGitBuffer } from './git';
import { LocalGitHost } from './LocalGitHost';
import { localGitHostFromConfig } from './service';

/**
 * Backstage URL reader for the local git host. Browse URLs look like GitHub's:
 * `<baseUrl>/<repo>/blob/<ref>/<path>` and `<baseUrl>/<repo>/tree/<ref>/<dir>`.
 * ETags are git object ids (blob sha for files, commit sha for trees), so unchanged files
 * answer NotModified without reading content.
 */
export class LocalGitHostUrlReader implements UrlReaderService {
  /** Factory for `urlReaderFactoriesServiceRef`. */
  static factory: ReaderFactory = ({ config, treeResponseFactory }) => {
    const host = localGitHostFromConfig(config);
    const reader = new LocalGitHostUrlReader(host, treeResponseFactory);
    return [{ reader, predicate: (url: URL) => host.handles(url.toString()) }];
  };

  constructor(
    private readonly host: LocalGitHost,
    private readonly treeResponseFactory?: ReadTreeResponseFactory,
  ) {}

  async readUrl(
    url: string,
    options?: UrlReaderServiceReadUrlOptions,
  ): Promise<UrlReaderServiceReadUrlResponse> {
    const { repo, ref, path } = this.host.parseUrl(url);
    // Compare ETags before reading content: an unchanged file costs one git call.
    const blobSha = await this.host.fileBlobSha(repo, path, ref);
    if (options?.etag && options.etag === blobSha) {
      throw new NotModifiedError();
    }
    const content = await this.host.readBlob(repo, blobSha);
    return {
      buffer: async () => content,
      stream: () => Readable.from([content]),
      etag: blobSha,
    };
  }

  async readTree(
    url: string,
    options?: UrlReaderServiceReadTreeOptions,
  ): Promise<UrlReaderServiceReadTreeResponse> {
    if (!this.treeResponseFactory) {
      throw new Error('readTree needs a tree response factory');
    }
    const { repo, ref, path } = this.host.parseUrl(url);
    const commit = await this.host.resolveRef(repo, ref);
    if (!commit) {
      throw new NotFoundError(`Ref '${ref}' not found in repository '${repo}'`);
    }
    if (options?.etag && options.etag === commit) throw new NotModifiedError();
    // Run git archive to completion before handing the bytes on: a streamed child stdout raced the
    // consumer (TechDocs saw an empty stream as TAR_BAD_ARCHIVE), and git's exit code was never seen.
    let archive: Buffer;
    try {
      archive = await runGitBuffer(
        ['archive', '--format=tar', '--prefix=root/', path ? `${commit}:${path}` : commit],
        { cwd: this.host.repoPath(repo) },
      );
    } catch (e) {
      if (e instanceof GitCommandError) {
        throw new NotFoundError(`'${path}' is not a directory at ${ref} in repository '${repo}'`);
      }
      throw e;
    }
    return this.treeResponseFactory.fromTarArchive({
      stream: Readable.from([archive]),
      etag: commit,
      filter: options?.filter,
    });
  }

  async search(
    url: string,
    options?: UrlReaderServiceSearchOptions,
  ): Promise<UrlReaderServiceSearchResponse> {
    const { repo, ref, path: pattern } = this.host.parseUrl(url);
    const { commit, files } = await this.host.listTree(repo, '', ref);
    if (options?.etag && options.etag === commit) throw new NotModifiedError();
    const matcher = globToRegExp(pattern);
    return {
      etag: commit,
      files: files
        .filter(f => matcher.test(f.path))
        .map(f => ({
          url: this.host.fileUrl(repo, f.path, ref),
          content: () => this.host.readBlob(repo, f.sha),
        })),
    };
  }

  toString() {
    return `local-git-host{baseUrl=${this.host.baseUrl}}`;
  }
}

/** Minimal glob: `**` any depth, `*` within a segment, `?` one character. */
export function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*' && glob[i + 1] === '*') {
      re += '.*';
      i++;
      if (glob[i + 1] === '/') i++;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** Adds the local git host to Backstage's URL readers: `backend.add(gitHostUrlReaderServiceFactory)`. */
export const gitHostUrlReaderServiceFactory = createServiceFactory({
  service: urlReaderFactoriesServiceRef,
  deps: {},
  async factory() {
    return LocalGitHostUrlReader.factory;
  },
});
