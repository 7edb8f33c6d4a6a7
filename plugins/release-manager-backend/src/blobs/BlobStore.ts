import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { InputError } from '@backstage/errors';

/**
 * Where artifact manifests live. Keys are `/`-separated validated names; the local directory
 * implementation is the embedded default, object storage can implement the same interface.
 */
export interface BlobStore {
  put(key: string, data: Buffer): Promise<void>;
  /** Returns undefined when the key does not exist. */
  get(key: string): Promise<Buffer | undefined>;
  delete(key: string): Promise<void>;
}

const KEY_SEGMENT = /^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$/;

/** Validates a blob key: segments of letters, digits, `.`, `_`, `-`; no `..`, no leading dot. */
export function assertBlobKey(key: string): string[] {
  const segments = key.split('/');
  if (
    segments.length === 0 ||
    segments.some(s => !KEY_SEGMENT.test(s) || s.includes('..'))
  ) {
    throw new InputError(`Invalid blob key '${key.slice(0, 200)}'`);
  }
  return segments;
}

/** Blob store in a local directory, written atomically (temp file + rename). */
export class LocalDirectoryBlobStore implements BlobStore {
  constructor(private readonly rootDir: string) {}

  private pathOf(key: string): string {
    const full = path.resolve(this.rootDir, ...assertBlobKey(key));
    if (!full.startsWith(path.resolve(this.rootDir) + path.sep)) {
      throw new InputError(`Invalid blob key '${key.slice(0, 200)}'`);
    }
    return full;
  }

  async put(key: string, data: Buffer): Promise<void> {
    const target = this.pathOf(key);
    await fs.mkdir(path.dirname(target), { recursive: true });
    const tmp = `${target}.${crypto.randomBytes(6).toString('hex')}.tmp`;
    await fs.writeFile(tmp, data);
    await fs.rename(tmp, target);
  }

  async get(key: string): Promise<Buffer | undefined> {
    try {
      return await fs.readFile(this.pathOf(key));
    } catch (e: any) {
      if (e?.code === 'ENOENT') return undefined;
      throw e;
    }
  }

  async delete(key: string): Promise<void> {
    await fs.rm(this.pathOf(key), { force: true });
  }
}
