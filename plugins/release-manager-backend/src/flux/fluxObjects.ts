import { stringify } from 'yaml';
import type { WorkTree } from '../git/GitOpsWriter';
import { releaseDir } from '../git/paths';

/** Folder of the Flux objects in the config repo: `flux/<env>/…`. */
export const FLUX_DIR = 'flux';

/** How a cluster's Flux reaches and trusts the config repo (`releaseManager.flux`). */
export interface FluxSettings {
  /** URL Flux clones (`spec.url` of the GitRepository). */
  repoUrl: string;
  branch: string;
  /** Namespace of Flux's own objects. Default `flux-system`. */
  namespace?: string;
  /** Secret holding the release manager's public key (`spec.verify.secretRef`). Default `release-manager-signing-key`. */
  verifySecret?: string;
  /** Secret with git credentials for a private repository (`spec.secretRef`); absent → none. */
  authSecret?: string;
  /** Reconcile interval. Default `1m`. */
  interval?: string;
}

/** Name of the GitRepository every Kustomization reads from. */
export const GIT_REPOSITORY_NAME = 'release-manager-config';

/**
 * The GitRepository of one environment's cluster: Flux verifies that HEAD carries a valid
 * OpenPGP signature by a key in the secret (the release manager's public key, served at
 * `GET /api/release-manager/signing-key`), so a cluster applies only commits the release manager
 * signed; and the environment's root Kustomization, which applies `flux/<env>/services/`.
 */
export function environmentFluxFiles(environment: string, s: FluxSettings): Record<string, string> {
  return { ...rendered(`env\0${environment}`, s, () => renderEnvironmentFluxFiles(environment, s)) };
}

/**
 * The same objects render to the same text on every release: rendered once per key and settings
 * (YAML rendering was a visible part of a release's CPU time in the replicas bench).
 */
const renderCache = new Map<string, any>();
function rendered<T>(key: string, s: FluxSettings, render: () => T): T {
  const k = `${key}\0${JSON.stringify(s)}`;
  let v = renderCache.get(k);
  if (v === undefined) {
    if (renderCache.size > 20_000) renderCache.clear();
    renderCache.set(k, (v = render()));
  }
  return v;
}

function renderEnvironmentFluxFiles(environment: string, s: FluxSettings): Record<string, string> {
  const ns = s.namespace ?? 'flux-system';
  const interval = s.interval ?? '1m';
  const gitRepository = {
    apiVersion: 'source.toolkit.fluxcd.io/v1',
    kind: 'GitRepository',
    metadata: { name: GIT_REPOSITORY_NAME, namespace: ns },
    spec: {
      interval,
      url: s.repoUrl,
      ref: { branch: s.branch },
      ...(s.authSecret ? { secretRef: { name: s.authSecret } } : {}),
      verify: { mode: 'HEAD', secretRef: { name: s.verifySecret ?? 'release-manager-signing-key' } },
    },
  };
  const services = {
    apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
    kind: 'Kustomization',
    metadata: { name: `release-manager-${environment}`, namespace: ns },
    spec: {
      interval,
      sourceRef: { kind: 'GitRepository', name: GIT_REPOSITORY_NAME },
      path: `./${FLUX_DIR}/${environment}/services`,
      prune: true,
    },
  };
  return {
    [`${FLUX_DIR}/${environment}/gitrepository.yaml`]: stringify(gitRepository),
    [`${FLUX_DIR}/${environment}/services.yaml`]: stringify(services),
  };
}

/** The Kustomization that applies one service's release folder in one environment. */
export function serviceKustomization(environment: string, namespace: string, service: string, s: FluxSettings): string {
  return rendered(`svc\0${environment}\0${namespace}\0${service}`, s, () => renderServiceKustomization(environment, namespace, service, s));
}

function renderServiceKustomization(environment: string, namespace: string, service: string, s: FluxSettings): string {
  return stringify({
    apiVersion: 'kustomize.toolkit.fluxcd.io/v1',
    kind: 'Kustomization',
    // named after the service: the cluster agent maps Flux events back by this name
    metadata: { name: service, namespace: s.namespace ?? 'flux-system' },
    spec: {
      interval: s.interval ?? '1m',
      sourceRef: { kind: 'GitRepository', name: GIT_REPOSITORY_NAME },
      path: `./${releaseDir(environment, namespace, service)}`,
      prune: true,
      wait: false,
    },
  });
}

/**
 * Writes (when missing or different) the Flux objects a release needs: the environment's
 * GitRepository + root Kustomization, and the service's Kustomization. Returns the paths written,
 * which go into the release commit.
 */
export async function ensureFluxObjects(
  tree: WorkTree,
  environment: string,
  namespace: string,
  service: string,
  s: FluxSettings,
): Promise<string[]> {
  const wanted: Record<string, string> = {
    ...environmentFluxFiles(environment, s),
    [`${FLUX_DIR}/${environment}/services/${service}.yaml`]: serviceKustomization(environment, namespace, service, s),
  };
  const written: string[] = [];
  for (const [rel, text] of Object.entries(wanted)) {
    if ((await tree.readFile(rel)) === text) continue;
    await tree.writeFile(rel, text);
    written.push(rel);
  }
  return written;
}
