import fs from 'node:fs/promises';
import path from 'node:path';
import { InputError } from '@backstage/errors';

const MAX_FILES = 500;
const MAX_BYTES = 5 * 1024 * 1024;

/**
 * Reads the skeleton a previous `fetch:template` step rendered into the workspace: every file
 * below `dir`, path relative to `dir` → text. `.git` is skipped; symlinks are refused.
 */
export async function readWorkspaceFiles(
  root: string,
  sub = '.',
): Promise<Record<string, string>> {
  const base = path.resolve(root, sub);
  if (
    base !== path.resolve(root) &&
    !base.startsWith(path.resolve(root) + path.sep)
  ) {
    throw new InputError(`sourcePath '${sub}' is outside the workspace`);
  }
  const out: Record<string, string> = {};
  let bytes = 0;
  const walk = async (dir: string) => {
    let entries: import('node:fs').Dirent[];
    try {
      entries = await fs.readdir(dir, { withFileTypes: true });
    } catch (e: any) {
      if (e.code === 'ENOENT') return;
      throw e;
    }
    for (const e of entries) {
      if (e.name === '.git') continue;
      const full = path.join(dir, e.name);
      if (e.isDirectory()) {
        await walk(full);
      } else if (e.isFile()) {
        const content = await fs.readFile(full, 'utf8');
        bytes += Buffer.byteLength(content);
        out[path.relative(base, full).split(path.sep).join('/')] = content;
        if (Object.keys(out).length > MAX_FILES || bytes > MAX_BYTES) {
          throw new InputError(
            `The skeleton in the workspace is too large (max ${MAX_FILES} files, ${MAX_BYTES} bytes)`,
          );
        }
      } else {
        throw new InputError(
          `Skeleton entry '${e.name}' is not a regular file`,
        );
      }
    }
  };
  await walk(base);
  return out;
}
