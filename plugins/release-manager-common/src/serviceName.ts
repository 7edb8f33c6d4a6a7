/**
 * The naming rules of a new service, shared by the portal's form field and the golden path's
 * scaffolder actions. The service name becomes a repository name, a catalog entity name, a
 * Kubernetes object name and a path in the config repo, so it must be a lowercase DNS label
 * ({@link NAME_PATTERN}); the checks below say in plain words which rule a name breaks.
 */
import { NAME_PATTERN } from './validation';

/** Longest service name: a DNS label (Kubernetes object and namespace names use the same rule). */
export const MAX_SERVICE_NAME_LENGTH = 63;

/** Explains in plain words why `name` cannot be a service name, or returns undefined. */
export function serviceNameRuleProblem(name: unknown): string | undefined {
  if (typeof name !== 'string' || name === '') return 'Enter a name for the service';
  if (/[/\\]/.test(name) || name.includes('..') || name.startsWith('.')) {
    return "The name must not contain '/', '\\' or '..' (it is not a path)";
  }
  if (/\s/.test(name)) {
    return "The name must not contain spaces: use '-' between words";
  }
  if (name.length > MAX_SERVICE_NAME_LENGTH) {
    return `The name is ${name.length} characters long: use at most ${MAX_SERVICE_NAME_LENGTH}`;
  }
  if (/[A-Z]/.test(name)) {
    return `Use lowercase letters, digits and '-' (e.g. '${name.toLowerCase()}')`;
  }
  if (!/^[a-z0-9-]+$/.test(name)) {
    return "Use lowercase letters, digits and '-' only";
  }
  if (!NAME_PATTERN.test(name)) {
    return "The name must start and end with a letter or digit, not '-'";
  }
  return undefined;
}
