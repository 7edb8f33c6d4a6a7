/**
 * Name rules shared by server, CLI and portal. Every name that becomes a path in the config
 * repo or the blob store must pass these; they admit no `/`, `\`, `..`, NUL or leading dot.
 */

import { FREEZE_OVERRIDE_REASON_MAX_LENGTH } from './types';

/** service, environment, namespace: a DNS label. */
export const NAME_PATTERN = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** artifact id: `<branch>-<sha10>-<sha10>` or similar; letters, digits, `.`, `_`, `-`. */
export const ARTIFACT_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;

/** Returns a reason when `value` is not a valid name of the given kind, else undefined. */
export function invalidNameReason(kind: string, value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length === 0) return `${kind} is required`;
  if (!NAME_PATTERN.test(value)) {
    return `${kind} '${printable(value)}' is invalid: use lowercase letters, digits and '-', at most 63 characters`;
  }
  return undefined;
}

/** Returns a reason when `value` is not a valid artifact id, else undefined. */
export function invalidArtifactIdReason(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.length === 0) return 'artifact id is required';
  if (!ARTIFACT_ID_PATTERN.test(value) || value.includes('..')) {
    return `artifact id '${printable(value)}' is invalid: use letters, digits, '.', '_' and '-', at most 200 characters`;
  }
  return undefined;
}

/** Returns a reason when `value` is not an acceptable freeze override reason, else undefined. */
export function invalidFreezeOverrideReason(value: unknown): string | undefined {
  if (typeof value !== 'string' || value.trim().length === 0) {
    return 'a reason is required to override a production freeze';
  }
  if (value.length > FREEZE_OVERRIDE_REASON_MAX_LENGTH) {
    return `the freeze override reason is too long: at most ${FREEZE_OVERRIDE_REASON_MAX_LENGTH} characters`;
  }
  return undefined;
}

/** Artifact id convention `<branch>-<app-sha10>-<plan-sha10>`, branch slashes turned into `-`. */
export function artifactIdFor(branch: string, appSha: string, planSha = appSha): string {
  const b = branch.replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^[-.]+/, '').slice(0, 150) || 'branch';
  return `${b}-${appSha.slice(0, 10)}-${planSha.slice(0, 10)}`;
}

function printable(value: string): string {
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value).slice(1, -1);
}
