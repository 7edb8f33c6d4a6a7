import crypto from 'node:crypto';
import { ConflictError } from '@backstage/errors';
import type {
  Environment,
  PolicyVerdict,
  ServicePolicies,
} from '@devplane/plugin-release-manager-common';
import { compileSafeRegex, safeRegexTest } from './guardrails';

/** Default branch restriction for production environments. */
export const DEFAULT_PRODUCTION_BRANCH_REGEX = '^(master|main)$';

/** Branch names as git allows them, conservatively. */
const BRANCH = /^[A-Za-z0-9][A-Za-z0-9._\/-]{0,199}$/;

export function invalidBranchReason(branch: unknown): string | undefined {
  if (typeof branch !== 'string' || !branch) return 'branch is required';
  if (!BRANCH.test(branch) || branch.includes('..') || branch.includes('//') || branch.endsWith('/') || branch.endsWith('.lock')) {
    return `branch '${String(branch).slice(0, 100)}' is invalid`;
  }
  return undefined;
}

/** Checks a branch regex (RE2 syntax, linear time), rejecting invalid or overlong ones. */
export function compileBranchRegex(source: string): void {
  compileSafeRegex(source, 'branchRegex');
}

function policyId(kind: string, ...parts: string[]): string {
  const h = crypto.createHash('sha1').update([kind, ...parts].join('\0')).digest('hex');
  return `${kind}-${h.slice(0, 10)}`;
}

/** The policies a service has before anyone set any: production only from master/main. */
export function defaultPolicies(service: string, environments: Environment[]): ServicePolicies {
  return {
    service,
    autoReleases: [],
    branchRestrictions: environments
      .filter(e => e.production)
      .map(e => ({
        id: policyId('branch-restriction', DEFAULT_PRODUCTION_BRANCH_REGEX, e.name),
        branchRegex: DEFAULT_PRODUCTION_BRANCH_REGEX,
        environment: e.name,
      })),
  };
}

/** Parses policies/<service>.json; falls back to defaults when missing. */
export function parsePolicies(
  service: string,
  text: string | undefined,
  environments: Environment[],
): ServicePolicies {
  if (!text) return defaultPolicies(service, environments);
  const raw = JSON.parse(text);
  return {
    service,
    autoReleases: Array.isArray(raw.autoReleases)
      ? raw.autoReleases.map((p: any) => ({
          id: String(p.id ?? policyId('auto-release', p.branch, p.environment)),
          branch: String(p.branch),
          environment: String(p.environment),
          ...(typeof p.setBy === 'string' && p.setBy ? { setBy: p.setBy } : {}),
        }))
      : [],
    branchRestrictions: Array.isArray(raw.branchRestrictions)
      ? raw.branchRestrictions.map((p: any) => ({
          id: String(p.id ?? policyId('branch-restriction', p.branchRegex, p.environment)),
          branchRegex: String(p.branchRegex),
          environment: String(p.environment),
        }))
      : [],
  };
}

export function serializePolicies(p: ServicePolicies): string {
  return `${JSON.stringify(
    { service: p.service, autoReleases: p.autoReleases, branchRestrictions: p.branchRestrictions },
    null,
    2,
  )}\n`;
}

/** Whether `branch` may be released to `environment` under the branch restrictions. */
export function branchVerdict(
  policies: ServicePolicies,
  branch: string,
  environment: string,
): PolicyVerdict {
  const restrictions = policies.branchRestrictions.filter(r => r.environment === environment);
  for (const r of restrictions) {
    let matches: boolean;
    try {
      matches = safeRegexTest(r.branchRegex, branch);
    } catch {
      return { allowed: false, reason: `branch restriction ${r.id} has an invalid regex` };
    }
    if (!matches) {
      return {
        allowed: false,
        reason: `branch '${branch}' may not be released to ${environment}: the branch restriction allows only branches matching ${r.branchRegex}`,
      };
    }
  }
  return { allowed: true };
}

function assertNoConflict(p: ServicePolicies) {
  for (const a of p.autoReleases) {
    const v = branchVerdict(p, a.branch, a.environment);
    if (!v.allowed) {
      throw new ConflictError(
        `Conflicting policies: auto-release of branch '${a.branch}' to ${a.environment} is forbidden by the branch restriction ${p.branchRestrictions.find(r => r.environment === a.environment)?.branchRegex} on ${a.environment}`,
      );
    }
  }
}

/** Adds or replaces the auto-release into `environment` (one branch per environment). */
export function withAutoRelease(
  p: ServicePolicies,
  branch: string,
  environment: string,
  setBy?: string,
): ServicePolicies {
  const next: ServicePolicies = {
    ...p,
    autoReleases: [
      ...p.autoReleases.filter(a => a.environment !== environment),
      { id: policyId('auto-release', branch, environment), branch, environment, ...(setBy ? { setBy } : {}) },
    ].sort((a, b) => a.environment.localeCompare(b.environment)),
  };
  assertNoConflict(next);
  return next;
}

/** Adds or replaces the branch restriction on `environment` (one per environment). */
export function withBranchRestriction(
  p: ServicePolicies,
  branchRegex: string,
  environment: string,
): ServicePolicies {
  compileBranchRegex(branchRegex);
  const next: ServicePolicies = {
    ...p,
    branchRestrictions: [
      ...p.branchRestrictions.filter(a => a.environment !== environment),
      { id: policyId('branch-restriction', branchRegex, environment), branchRegex, environment },
    ].sort((a, b) => a.environment.localeCompare(b.environment)),
  };
  assertNoConflict(next);
  return next;
}

/** Removes one policy by id; undefined when no policy has that id. */
export function withoutPolicy(p: ServicePolicies, id: string): ServicePolicies | undefined {
  const next: ServicePolicies = {
    ...p,
    autoReleases: p.autoReleases.filter(a => a.id !== id),
    branchRestrictions: p.branchRestrictions.filter(a => a.id !== id),
  };
  if (
    next.autoReleases.length === p.autoReleases.length &&
    next.branchRestrictions.length === p.branchRestrictions.length
  ) {
    return undefined;
  }
  return next;
}

/** Auto-releases an artifact of `branch` triggers. */
export function autoReleaseTargets(p: ServicePolicies, branch: string): string[] {
  return p.autoReleases.filter(a => a.branch === branch).map(a => a.environment);
}

/** The auto-release policies an artifact of `branch` triggers (with who set them). */
export function autoReleasePolicies(p: ServicePolicies, branch: string): ServicePolicies['autoReleases'] {
  return p.autoReleases.filter(a => a.branch === branch);
}
