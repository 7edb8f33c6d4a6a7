import fs from 'node:fs/promises';
import path from 'node:path';
import { LoggerService } from '@backstage/backend-plugin-api';
import { LocalGitHost, RepoFiles, validateRepoName } from '@devplane/plugin-git-host-node';

async function readDirFiles(root: string): Promise<RepoFiles> {
  const files: RepoFiles = {};
  const walk = async (dir: string) => {
    for (const e of await fs.readdir(dir, { withFileTypes: true })) {
      const full = path.join(dir, e.name);
      if (e.isDirectory()) await walk(full);
      else if (e.isFile()) files[path.relative(root, full).split(path.sep).join('/')] = await fs.readFile(full);
    }
  };
  await walk(root);
  return files;
}

/**
 * Creates one repository per sub-directory of `sourceDir` that does not exist yet on the host
 * (the demo services). Existing repositories are left alone, so users' pushes survive restarts.
 */
export async function seedRepositories(
  host: LocalGitHost,
  sourceDir: string,
  logger: LoggerService,
): Promise<string[]> {
  let entries: import('node:fs').Dirent[];
  try {
    entries = await fs.readdir(sourceDir, { withFileTypes: true });
  } catch {
    logger.info(`No seed directory at ${sourceDir}; nothing to seed`);
    return [];
  }
  const created: string[] = [];
  for (const e of entries.filter(d => d.isDirectory()).sort((a, b) => a.name.localeCompare(b.name))) {
    const name = validateRepoName(e.name);
    if (await host.exists(name)) continue;
    const files = await readDirFiles(path.join(sourceDir, e.name));
    await host.createRepo(name, {
      files,
      message: `Initial import of ${name}`,
      description: `Demo service ${name}`,
    });
    created.push(name);
  }
  if (created.length) logger.info(`Seeded ${created.length} repositories: ${created.join(', ')}`);
  return created;
}
