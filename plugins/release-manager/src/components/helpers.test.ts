import {
  autoReleasePreview,
  branchBlockReason,
  branchRestrictionPreview,
  branchRestrictionReason,
  literalBranches,
  orderEnvironments,
  releaseOutcome,
  relativeTime,
  serviceNameOf,
} from './helpers';
import { environments, makeRelease, masterNew } from '../__testUtils__';

describe('helpers', () => {
  it('names the service from the shuttle annotation, else the entity name', () => {
    const base = { apiVersion: 'v1', kind: 'Component' };
    expect(
      serviceNameOf({
        ...base,
        metadata: { name: 'x', annotations: { 'devplane.io/shuttle-service': 'ledger' } },
      }),
    ).toBe('ledger');
    expect(serviceNameOf({ ...base, metadata: { name: 'x' } })).toBe('x');
  });

  it('says branch restrictions in plain words', () => {
    expect(literalBranches('^(master|main)$')).toEqual(['master', 'main']);
    expect(literalBranches('^main$')).toEqual(['main']);
    expect(literalBranches('^release/.*$')).toBeUndefined();
    expect(literalBranches('^a|b$')).toBeUndefined();
    expect(
      branchRestrictionReason({ branchRegex: '^(master|main)$', environment: 'prod' }),
    ).toBe('prod accepts only master/main');
    expect(
      branchRestrictionReason({ branchRegex: '^release/.*$', environment: 'prod' }),
    ).toBe('prod accepts only branches matching ^release/.*$');
    expect(
      branchRestrictionPreview({ branchRegex: '^(master|main)$', environment: 'prod' }),
    ).toBe('prod accepts only branches matching ^(master|main)$');
    expect(autoReleasePreview({ branch: 'master', environment: 'prod' })).toBe(
      'a merge to master will go to prod automatically',
    );
  });

  it('finds the restriction a branch violates', () => {
    const restrictions = [
      { id: '1', branchRegex: '^(master|main)$', environment: 'prod' },
    ];
    expect(branchBlockReason(restrictions, 'prod', 'feature-x')).toBe(
      'prod accepts only master/main',
    );
    expect(branchBlockReason(restrictions, 'prod', 'main')).toBeUndefined();
    expect(branchBlockReason(restrictions, 'dev', 'feature-x')).toBeUndefined();
    // An invalid regex is left to the server.
    expect(
      branchBlockReason([{ id: '2', branchRegex: '(', environment: 'prod' }], 'prod', 'x'),
    ).toBeUndefined();
  });

  it('orders environments dev → staging → prod and keeps unknown ones', () => {
    const ordered = orderEnvironments(environments, [
      { environment: 'qa', production: false },
    ]);
    expect(ordered.map(o => o.environment.name)).toEqual(['dev', 'staging', 'prod', 'qa']);
  });

  it('classifies releases and formats relative times', () => {
    expect(releaseOutcome(makeRelease(masterNew, 'dev'))).toBe('released');
    expect(releaseOutcome(makeRelease(masterNew, 'dev', { intent: 'rollback' }))).toBe(
      'rolled back',
    );
    expect(
      releaseOutcome(
        makeRelease(masterNew, 'dev', { rollout: { state: 'failed' } }),
      ),
    ).toBe('failed');
    const now = Date.parse('2026-01-02T12:00:00Z');
    expect(relativeTime('2026-01-02T11:55:00Z', now)).toBe('5 minutes ago');
    expect(relativeTime('2026-01-01T12:00:00Z', now)).toBe('yesterday');
  });
});
