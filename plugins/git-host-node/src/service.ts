import fs from 'node:fs';
import path from 'node:path';
import {
  coreServices,
  createServiceFactory,
  createServiceRef,
} from '@backstage/backend-plugin-api';
import { Config } from '@backstage/config';
import { LocalGitHost } from './LocalGitHost';

/** Mount point of the git host plugin's repositories below the backend base URL. */
export const GIT_HOST_REPOS_PATH = '/api/git-host/repos';

/**
 * The product's local data directory: `devplane.dataDir`, else `$DEVPLANE_DATA_DIR`, else
 * `.data` at the repository root (found by walking up from the working directory).
 */
export function resolveDataDir(config: Config): string {
  const configured =
    config.getOptionalString('devplane.dataDir') ?? process.env.DEVPLANE_DATA_DIR;
  if (configured) return path.resolve(configured);
  let dir = process.cwd();
  for (let i = 0; i < 6; i++) {
    if (fs.existsSync(path.join(dir, 'dev')) && fs.existsSync(path.join(dir, 'package.json'))) {
      return path.join(dir, '.data');
    }
    const parent = path.dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return path.resolve('.data');
}

/** Builds the local git host from config (`gitHost.rootDir`, `backend.baseUrl`). */
export function localGitHostFromConfig(config: Config): LocalGitHost {
  const rootDir =
    config.getOptionalString('gitHost.rootDir') ?? path.join(resolveDataDir(config), 'git');
  fs.mkdirSync(rootDir, { recursive: true });
  const backendBaseUrl = config.getString('backend.baseUrl').replace(/\/+$/, '');
  return new LocalGitHost({
    rootDir,
    baseUrl:
      config.getOptionalString('gitHost.baseUrl') ?? `${backendBaseUrl}${GIT_HOST_REPOS_PATH}`,
    defaultBranch: config.getOptionalString('gitHost.defaultBranch') ?? 'main',
  });
}

/**
 * The local git host as a backend service, shared by the git host plugin, the release manager,
 * the shuttle catalog module and the golden path.
 */
export const gitHostServiceRef = createServiceRef<LocalGitHost>({
  id: 'devplane.git-host',
  scope: 'root',
  defaultFactory: async service =>
    createServiceFactory({
      service,
      deps: { config: coreServices.rootConfig },
      factory: ({ config }) => localGitHostFromConfig(config),
    }),
});
