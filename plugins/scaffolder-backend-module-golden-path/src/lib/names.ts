import { NAME_PATTERN } from '@devplane/plugin-release-manager-common';

/** Longest service name: a DNS label (Kubernetes object and namespace names use the same rule). */
export const MAX_SERVICE_NAME_LENGTH = 63;

/** The template's form pattern for `name`; keep in step with {@link serviceNameProblem}. */
export const SERVICE_NAME_PATTERN = NAME_PATTERN;

/** The service kinds the golden path has a skeleton for. */
export const SERVICE_KINDS = ['node', 'go', 'static'] as const;
export type ServiceKind = (typeof SERVICE_KINDS)[number];

/** The environments a new service gets manifests for, in promotion order. */
export const DEFAULT_ENVIRONMENTS = ['dev', 'staging', 'prod'];

/**
 * Explains why `name` cannot be a service name, or returns undefined. The service name becomes
 * a repository name, a catalog entity name, a Kubernetes object name and a path in the config
 * repo, so it must be a lowercase DNS label.
 */
export function serviceNameProblem(name: unknown): string | undefined {
  if (typeof name !== 'string' || name.trim() === '') return 'Name is required';
  const shown = JSON.stringify(
    name.length > 80 ? `${name.slice(0, 80)}…` : name,
  );
  if (/[\/\\]/.test(name) || name.includes('..') || name.startsWith('.')) {
    return `Name ${shown} looks like a path: no '/', '\\', '..' or leading '.' allowed`;
  }
  if (name.length > MAX_SERVICE_NAME_LENGTH) {
    return `Name ${shown} is ${name.length} characters long: at most ${MAX_SERVICE_NAME_LENGTH} allowed`;
  }
  if (/[A-Z]/.test(name)) {
    return `Name ${shown} has uppercase letters: use lowercase (${JSON.stringify(
      name.toLowerCase(),
    )})`;
  }
  if (name.startsWith('-') || name.endsWith('-')) {
    return `Name ${shown} must start and end with a letter or digit`;
  }
  if (!NAME_PATTERN.test(name)) {
    return `Name ${shown} may only contain lowercase letters, digits and '-'`;
  }
  return undefined;
}

/**
 * Short name of an entity given as a ref (`group:default/payments`), as `default/payments` or
 * as a plain name. Returns undefined when the ref names another kind than `expectedKind`.
 */
export function entityNameFromRef(
  ref: string,
  expectedKind: string,
): { namespace: string; name: string } | undefined {
  const m = /^(?:([^:/]+):)?(?:([^:/]+)\/)?([^:/]+)$/.exec(ref.trim());
  if (!m) return undefined;
  if (m[1] && m[1].toLowerCase() !== expectedKind.toLowerCase())
    return undefined;
  return { namespace: m[2] ?? 'default', name: m[3] };
}
