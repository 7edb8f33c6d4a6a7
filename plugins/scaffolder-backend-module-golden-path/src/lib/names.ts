import {
  NAME_PATTERN,
  serviceNameRuleProblem,
} from '@devplane/plugin-release-manager-common';

/** The template's form pattern for `name`; keep in step with {@link serviceNameProblem}. */
export const SERVICE_NAME_PATTERN = NAME_PATTERN;

/** The service kinds the golden path has a skeleton for. */
export const SERVICE_KINDS = ['node', 'go', 'static'] as const;
export type ServiceKind = (typeof SERVICE_KINDS)[number];

/** The environments a new service gets manifests for, in promotion order. */
export const DEFAULT_ENVIRONMENTS = ['dev', 'staging', 'prod'];

/**
 * Explains why `name` cannot be a service name, or returns undefined: the portal's rules
 * (`serviceNameRuleProblem` of the release manager's common package), naming the refused name.
 */
export function serviceNameProblem(name: unknown): string | undefined {
  if (typeof name !== 'string' || name.trim() === '') return 'Name is required';
  const problem = serviceNameRuleProblem(name);
  if (!problem) return undefined;
  const shown = JSON.stringify(name.length > 80 ? `${name.slice(0, 80)}…` : name);
  return `Name ${shown}: ${problem}`;
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
