import type { CatalogApi } from '@backstage/plugin-catalog-react';
import type { DiscoveryApi, FetchApi } from '@backstage/frontend-plugin-api';
import { serviceNameRuleProblem } from '@devplane/plugin-release-manager-common';

/** The naming rules themselves are shared with the golden path's actions. */
export { serviceNameRuleProblem };

/** What {@link findServiceNameProblem} needs to look a name up. */
export interface ServiceNameLookupApis {
  catalogApi: Pick<CatalogApi, 'getEntities'>;
  discoveryApi: Pick<DiscoveryApi, 'getBaseUrl'>;
  fetchApi: Pick<FetchApi, 'fetch'>;
}

/** Returns a plain-words reason when a Component of that name is already in the catalog. */
export async function catalogNameProblem(
  name: string,
  catalogApi: ServiceNameLookupApis['catalogApi'],
): Promise<string | undefined> {
  // Any namespace, like the validate step: the repo and Kubernetes names have no namespace.
  const { items } = await catalogApi.getEntities({
    filter: { kind: 'Component', 'metadata.name': name },
    fields: ['kind', 'metadata.name', 'metadata.namespace'],
  });
  const taken = items[0];
  if (!taken) return undefined;
  const ref = `component:${taken.metadata.namespace ?? 'default'}/${
    taken.metadata.name
  }`;
  return `'${name}' is taken: ${ref} is already in the catalog`;
}

/** Returns a plain-words reason when the local git host already has a repository of that name. */
export async function gitHostNameProblem(
  name: string,
  discoveryApi: ServiceNameLookupApis['discoveryApi'],
  fetchApi: ServiceNameLookupApis['fetchApi'],
): Promise<string | undefined> {
  const baseUrl = await discoveryApi.getBaseUrl('git-host');
  const res = await fetchApi.fetch(`${baseUrl}/repos`);
  if (!res.ok) {
    throw new Error(
      `Could not check the git host for '${name}' (HTTP ${res.status}); try again in a moment`,
    );
  }
  const body = (await res.json()) as { items?: Array<{ name?: unknown }> };
  const exists = (body.items ?? []).some(
    r =>
      typeof r.name === 'string' && r.name.toLowerCase() === name.toLowerCase(),
  );
  return exists
    ? `'${name}' is taken: a repository with that name already exists on the git host`
    : undefined;
}

/**
 * Every reason why `name` cannot be used for a new service: the naming rules first, then
 * (only for a well-formed name) the catalog and the git host. An empty list means it is free.
 * A lookup that fails is reported as a problem, so the form does not let an unchecked name through.
 */
export async function findServiceNameProblems(
  name: string | undefined,
  apis: ServiceNameLookupApis,
): Promise<string[]> {
  const ruleProblem = serviceNameRuleProblem(name);
  if (ruleProblem || !name) return ruleProblem ? [ruleProblem] : [];
  const checks = await Promise.allSettled([
    catalogNameProblem(name, apis.catalogApi),
    gitHostNameProblem(name, apis.discoveryApi, apis.fetchApi),
  ]);
  const where = ['catalog', 'git host'];
  return checks.flatMap((c, i) => {
    if (c.status === 'fulfilled') return c.value ? [c.value] : [];
    const message =
      c.reason instanceof Error ? c.reason.message : String(c.reason);
    return [
      message.startsWith('Could not check')
        ? message
        : `Could not check the ${where[i]} for '${name}': ${message}`,
    ];
  });
}
