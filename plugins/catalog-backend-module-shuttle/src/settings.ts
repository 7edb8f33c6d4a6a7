import { Config } from '@backstage/config';
import { parseEntityRef, stringifyEntityRef } from '@backstage/catalog-model';
import { DEFAULT_MAX_ALIAS_COUNT, DEFAULT_MAX_BYTES } from './shuttle/parseShuttleYaml';

/** Annotations written by this module. */
export const ANNOTATION_SHUTTLE_PLAN = 'devplane.io/shuttle-plan';
export const ANNOTATION_SHUTTLE_SERVICE = 'devplane.io/shuttle-service';
/** Warnings about the shuttle.yaml (e.g. unknown top-level fields), one per line. */
export const ANNOTATION_SHUTTLE_WARNINGS = 'devplane.io/shuttle-warnings';
/**
 * Set by discovery on a repository whose `vars.service` another repository already declares:
 * `<service> <other shuttle.yaml URL>`; the processor turns it into a processing error.
 */
export const ANNOTATION_SHUTTLE_DUPLICATE_SERVICE = 'devplane.io/shuttle-duplicate-service';
export const ANNOTATION_SHUTTLE_SQUAD = 'devplane.io/shuttle-squad';
export const ANNOTATION_SHUTTLE_FILE = 'devplane.io/shuttle-file';
export const ANNOTATION_KUBERNETES_NAMESPACE = 'devplane.io/kubernetes-namespace';
export const ANNOTATION_SOURCE_LOCATION = 'backstage.io/source-location';
export const ANNOTATION_MANAGED_BY_LOCATION = 'backstage.io/managed-by-location';
export const ANNOTATION_MANAGED_BY_ORIGIN_LOCATION = 'backstage.io/managed-by-origin-location';

/** Settings under `catalog.shuttle`. */
export interface ShuttleSettings {
  /** When true, shuttle.yaml replaces values that catalog-info.yaml states explicitly. */
  override: boolean;
  /** Entity kinds the processor enriches. */
  kinds: string[];
  /** Use `vars.domain` as `spec.system` when `vars.system` is absent. */
  systemFromDomain: boolean;
  /** Report squads without a Group in the catalog (and do not set them as owner). */
  requireGroup: boolean;
  /** squad → group ref overrides. */
  squadGroups: Record<string, string>;
  maxBytes: number;
  maxAliasCount: number;
  cacheSize: number;
  groupCacheSeconds: number;
  /** Hosts that may resolve to internal addresses (beyond the git host and integrations). */
  trustedHosts: string[];
}

export const defaultSettings: ShuttleSettings = {
  override: false,
  kinds: ['Component', 'API', 'Resource'],
  systemFromDomain: false,
  requireGroup: true,
  squadGroups: {},
  maxBytes: DEFAULT_MAX_BYTES,
  maxAliasCount: DEFAULT_MAX_ALIAS_COUNT,
  cacheSize: 10_000,
  groupCacheSeconds: 30,
  trustedHosts: [],
};

/** Reads `catalog.shuttle`, validating the squad mapping. */
export function readShuttleSettings(config: Config): ShuttleSettings {
  const c = config.getOptionalConfig('catalog.shuttle');
  if (!c) return { ...defaultSettings };
  const squadGroups: Record<string, string> = {};
  const mapping = c.getOptionalConfig('squadGroups');
  for (const squad of mapping?.keys() ?? []) {
    const ref = mapping!.getString(squad);
    try {
      const parsed = parseEntityRef(ref, { defaultKind: 'group', defaultNamespace: 'default' });
      squadGroups[squad] = stringifyEntityRef(parsed);
    } catch (e) {
      throw new Error(`catalog.shuttle.squadGroups.${squad}: '${ref}' is not an entity ref`);
    }
  }
  return {
    override: c.getOptionalBoolean('override') ?? defaultSettings.override,
    kinds: c.getOptionalStringArray('kinds') ?? defaultSettings.kinds,
    systemFromDomain: c.getOptionalBoolean('systemFromDomain') ?? defaultSettings.systemFromDomain,
    requireGroup: c.getOptionalBoolean('requireGroup') ?? defaultSettings.requireGroup,
    squadGroups,
    maxBytes: c.getOptionalNumber('maxBytes') ?? defaultSettings.maxBytes,
    maxAliasCount: c.getOptionalNumber('maxAliasCount') ?? defaultSettings.maxAliasCount,
    cacheSize: c.getOptionalNumber('cacheSize') ?? defaultSettings.cacheSize,
    groupCacheSeconds: c.getOptionalNumber('groupCacheSeconds') ?? defaultSettings.groupCacheSeconds,
    trustedHosts: c.getOptionalStringArray('trustedHosts') ?? defaultSettings.trustedHosts,
  };
}

/** The owner ref for a squad: the configured mapping, else `group:<squad>`. */
export function ownerRefForSquad(settings: ShuttleSettings, squad: string): string {
  return settings.squadGroups[squad] ?? `group:${squad}`;
}

/** Normalised form of an entity ref for comparisons (`group:default/x`, lowercase). */
export function normalizeRef(ref: string): string {
  return stringifyEntityRef(
    parseEntityRef(ref, { defaultKind: 'group', defaultNamespace: 'default' }),
  ).toLowerCase();
}

/**
 * Hosts of configured integrations (`integrations.<type>[].host`), read without depending on
 * `@backstage/integration`: URLs on these hosts go through Backstage's URL reader.
 */
export function readIntegrationHosts(config: Config): string[] {
  const hosts = new Set<string>();
  const integrations = config.getOptionalConfig('integrations');
  for (const type of integrations?.keys() ?? []) {
    const list = integrations!.getOptionalConfigArray(type) ?? [];
    for (const item of list) {
      const host = item.getOptionalString('host');
      if (host) hosts.add(host.toLowerCase());
    }
  }
  // Backstage always configures these public hosts, with or without explicit config.
  for (const h of ['github.com', 'gitlab.com', 'bitbucket.org', 'dev.azure.com']) hosts.add(h);
  return [...hosts];
}

/**
 * URL of `shuttle.yaml` at the root of the repository a source URL points into, for browse URLs of
 * the form `<repo>/blob|tree/<ref>/...` (GitHub, the local git host) or `<repo>/-/blob|tree/<ref>`
 * (GitLab). Undefined when the URL does not look like a repository URL.
 */
export function shuttleUrlForSource(sourceUrl: string): string | undefined {
  let u: URL;
  try {
    u = new URL(sourceUrl.replace(/^url:/, ''));
  } catch {
    return undefined;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return undefined;
  const m = /^(.*?)\/(-\/)?(blob|tree)\/([^/]+)(?:\/.*)?$/.exec(u.pathname);
  if (!m || !m[1]) return undefined;
  return `${u.origin}${m[1]}/${m[2] ?? ''}blob/${m[4]}/shuttle.yaml`;
}
