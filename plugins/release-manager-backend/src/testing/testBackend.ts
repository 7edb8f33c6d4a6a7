/**
 * The release manager's features for a Backstage test backend (`startTestBackend`), shared by
 * its own tests, the golden path module and the backend package: the real plugin with its
 * config, and stand-ins only for what is not ours and not under test (the notification and
 * signal sinks, and, unless the caller brings the real one, the permission framework).
 * The catalog is the caller's (a mock with entities, a proxy, or the real catalog plugin).
 *
 * No dependency on @backstage/backend-test-utils, so this entry can be shipped.
 */
import {
  coreServices,
  createServiceFactory,
  ServiceFactory,
} from '@backstage/backend-plugin-api';
import { ConfigReader } from '@backstage/config';
import type { JsonObject } from '@backstage/types';
import { notificationService } from '@backstage/plugin-notifications-node';
import { AuthorizeResult } from '@backstage/plugin-permission-common';
import { signalsServiceRef } from '@backstage/plugin-signals-node';
import {
  gitHostServiceRef,
  LocalGitHost,
} from '@devplane/plugin-git-host-node';
import { releaseManagerPlugin } from '../plugin';

/** Options of {@link releaseManagerTestFeatures}. */
export interface ReleaseManagerTestOptions {
  /** `devplane.dataDir`: the SQLite database, blobs and (unless `gitHost`) the git host. */
  dataDir: string;
  /** The `releaseManager` config block (environments, guardrails, webhooks, ...). */
  releaseManager?: JsonObject;
  /** More root config, merged over the defaults at the top level (e.g. `catalog`, `permission`). */
  config?: JsonObject;
  /**
   * A local git host to share with the test (pushes it announces reach the push path). Its root
   * becomes `gitHost.rootDir`, and it is served as the git host service.
   */
  gitHost?: LocalGitHost;
  /** The catalog the release manager reads (a service factory); omit when the features include the catalog plugin. */
  catalog?: ServiceFactory;
  /**
   * Stand-in permission decisions: `allow(permission, userEntityRef)` (the user is undefined for
   * service calls). Default: everything allowed. `false`: no stand-in (the features bring the
   * real permission framework).
   */
  allow?: ((permission: string, user: string | undefined) => boolean) | false;
  /** Notification sink (default: discards). */
  send?: (...args: any[]) => Promise<void>;
  /** Signal sink (default: discards). */
  publish?: (...args: any[]) => Promise<void>;
  /** More features (plugins, service factories) for the same backend. */
  features?: any[];
}

/** Features for `startTestBackend({ features })` running the real release manager. */
export function releaseManagerTestFeatures(
  options: ReleaseManagerTestOptions,
): any[] {
  const send = options.send ?? (async () => {});
  const publish = options.publish ?? (async () => {});
  const data: JsonObject = {
    backend: { baseUrl: 'http://localhost:7007' },
    devplane: { dataDir: options.dataDir },
    ...(options.gitHost ? { gitHost: { rootDir: options.gitHost.rootDir } } : {}),
    ...(options.releaseManager ? { releaseManager: options.releaseManager } : {}),
  };
  for (const [key, value] of Object.entries(options.config ?? {})) {
    const base = data[key];
    data[key] =
      base && typeof base === 'object' && !Array.isArray(base) && value && typeof value === 'object' && !Array.isArray(value)
        ? { ...base, ...value }
        : value;
  }
  const features: any[] = [
    releaseManagerPlugin,
    createServiceFactory({
      service: coreServices.rootConfig,
      deps: {},
      factory: () => new ConfigReader(data),
    }),
    createServiceFactory({
      service: notificationService,
      deps: {},
      factory: () => ({ send }),
    }),
    createServiceFactory({
      service: signalsServiceRef,
      deps: {},
      factory: () => ({ publish }),
    }),
  ];
  if (options.gitHost) {
    const host = options.gitHost;
    features.push(
      createServiceFactory({
        service: gitHostServiceRef,
        deps: {},
        factory: () => host,
      }),
    );
  }
  if (options.catalog) features.push(options.catalog);
  if (options.allow !== false) {
    const allow = options.allow ?? (() => true);
    features.push(
      createServiceFactory({
        service: coreServices.permissions,
        deps: {},
        factory: () => ({
          authorize: async (requests: any[], opts: any) =>
            requests.map(r => ({
              result: allow(
                r.permission.name,
                opts?.credentials?.principal?.userEntityRef,
              )
                ? AuthorizeResult.ALLOW
                : AuthorizeResult.DENY,
            })),
          authorizeConditional: async (requests: any[]) =>
            requests.map(() => ({ result: AuthorizeResult.ALLOW })),
        }),
      }),
    );
  }
  features.push(...(options.features ?? []));
  return features;
}
