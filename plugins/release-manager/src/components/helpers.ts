import { Entity } from '@backstage/catalog-model';
import {
  AutoReleasePolicy,
  BranchRestrictionPolicy,
  Environment,
  EnvironmentStatus,
  Release,
} from '@devplane/plugin-release-manager-common';

/** Annotation naming the shuttle service behind a catalog component. */
export const SHUTTLE_SERVICE_ANNOTATION = 'devplane.io/shuttle-service';

/** The release manager service of an entity: the shuttle annotation, else the entity name. */
export function serviceNameOf(entity: Entity): string {
  return (
    entity.metadata.annotations?.[SHUTTLE_SERVICE_ANNOTATION] ||
    entity.metadata.name
  );
}

export function shortSha(sha: string | undefined): string {
  return (sha ?? '').slice(0, 7);
}

export function firstLine(text: string | undefined): string {
  return (text ?? '').split('\n')[0];
}

/** "5 minutes ago", "in 2 hours", "3 days ago". */
export function relativeTime(iso: string | undefined, now = Date.now()): string {
  if (!iso) return '';
  const then = Date.parse(iso);
  if (Number.isNaN(then)) return iso;
  const seconds = Math.round((then - now) / 1000);
  const rtf = new Intl.RelativeTimeFormat('en', { numeric: 'auto' });
  const units: Array<[Intl.RelativeTimeFormatUnit, number]> = [
    ['day', 86400],
    ['hour', 3600],
    ['minute', 60],
  ];
  for (const [unit, size] of units) {
    if (Math.abs(seconds) >= size) {
      return rtf.format(Math.round(seconds / size), unit);
    }
  }
  return rtf.format(seconds, 'second');
}

/** Environments in display order (dev → staging → prod), unknown ones appended. */
export function orderEnvironments(
  environments: Environment[],
  statuses: EnvironmentStatus[],
): Array<{ environment: Environment; status?: EnvironmentStatus }> {
  const known = [...environments].sort(
    (a, b) => a.order - b.order || a.name.localeCompare(b.name),
  );
  const result = known.map(environment => ({
    environment,
    status: statuses.find(s => s.environment === environment.name),
  }));
  for (const status of statuses) {
    if (!known.some(e => e.name === status.environment)) {
      result.push({
        environment: {
          name: status.environment,
          production: status.production,
          order: Number.MAX_SAFE_INTEGER,
        },
        status,
      });
    }
  }
  return result;
}

/**
 * Plain words for a branch regex: `^(master|main)$` → "master/main",
 * anything that is not a plain list of names → undefined.
 */
export function literalBranches(branchRegex: string): string[] | undefined {
  const match = /^\^\(?([A-Za-z0-9._/-]+(?:\|[A-Za-z0-9._/-]+)*)\)?\$$/.exec(
    branchRegex,
  );
  if (!match) return undefined;
  const inner = match[1];
  // "^(a|b)$" and "^a$" are fine; "^a|b$" is ambiguous without the group.
  if (inner.includes('|') && !branchRegex.startsWith('^(')) return undefined;
  return inner.split('|').map(b => b.replace(/\\\./g, '.'));
}

/** "prod accepts only master/main" (or "... only branches matching <regex>"). */
export function branchRestrictionReason(
  policy: Pick<BranchRestrictionPolicy, 'branchRegex' | 'environment'>,
): string {
  const names = literalBranches(policy.branchRegex);
  return names
    ? `${policy.environment} accepts only ${names.join('/')}`
    : `${policy.environment} accepts only branches matching ${policy.branchRegex}`;
}

/** Policies panel preview of a branch restriction. */
export function branchRestrictionPreview(
  policy: Pick<BranchRestrictionPolicy, 'branchRegex' | 'environment'>,
): string {
  return `${policy.environment} accepts only branches matching ${policy.branchRegex}`;
}

/** Policies panel preview of an auto-release policy. */
export function autoReleasePreview(
  policy: Pick<AutoReleasePolicy, 'branch' | 'environment'>,
): string {
  return `a merge to ${policy.branch} will go to ${policy.environment} automatically`;
}

/** Does the branch pass a restriction? Invalid regexes block nothing here (the server decides). */
export function branchAllowed(branchRegex: string, branch: string): boolean {
  try {
    return new RegExp(branchRegex).test(branch);
  } catch {
    return true;
  }
}

/** The first branch restriction of `environment` that `branch` violates, in plain words. */
export function branchBlockReason(
  restrictions: BranchRestrictionPolicy[],
  environment: string,
  branch: string,
): string | undefined {
  const violated = restrictions.find(
    r => r.environment === environment && !branchAllowed(r.branchRegex, branch),
  );
  return violated ? branchRestrictionReason(violated) : undefined;
}

/** What a release means for the since-yesterday summary. */
export type ReleaseOutcome = 'released' | 'rolled back' | 'failed';

export function releaseOutcome(release: Release): ReleaseOutcome {
  if (release.rollout?.state === 'failed') return 'failed';
  if (release.intent === 'rollback') return 'rolled back';
  return 'released';
}

export const intentLabels: Record<Release['intent'], string> = {
  release: 'released',
  promote: 'promoted',
  rollback: 'rolled back',
  'auto-release': 'auto-released',
};

/** A stable, selector-safe id fragment. */
export function testId(...parts: string[]): string {
  return parts.map(p => p.replace(/[^A-Za-z0-9._-]+/g, '-')).join('-');
}
