import {
  ReleaseManagerRequest,
  ReleaseManagerRoutes,
  releaseManagerUrl,
} from './routes';

describe('releaseManagerUrl', () => {
  it('joins base, path and the non-empty query values', () => {
    expect(
      releaseManagerUrl(
        'http://h/api/release-manager/',
        '/services/a/artifacts',
        {
          branch: '',
          limit: 5,
          cursor: undefined,
          since: '2026-01-02T03:04:05.000Z',
        },
      ),
    ).toBe(
      'http://h/api/release-manager/services/a/artifacts?limit=5&since=2026-01-02T03%3A04%3A05.000Z',
    );
    expect(releaseManagerUrl('http://h', '/environments')).toBe(
      'http://h/environments',
    );
  });
});

describe('ReleaseManagerRoutes', () => {
  const upload = { spec: {} as any, manifests: {} };
  const release = { service: 's', environment: 'dev', artifactId: 'a' };
  const promotion = {
    service: 's',
    fromEnvironment: 'dev',
    toEnvironment: 'prod',
    overrideFreeze: { reason: 'the fix for INC-42' },
  };
  const rollback = {
    service: 's',
    environment: 'prod',
    overrideFreeze: { reason: 'incident fix' },
  };
  const auto = { branch: 'master', environment: 'dev' };
  const restriction = { branchRegex: '^m$', environment: 'prod' };

  it.each<
    [
      string,
      (r: ReleaseManagerRoutes) => Promise<unknown>,
      ReleaseManagerRequest,
    ]
  >([
    [
      'getEnvironments',
      r => r.getEnvironments(),
      { method: 'GET', path: '/environments' },
    ],
    [
      'pushArtifact',
      r => r.pushArtifact(upload),
      { method: 'POST', path: '/artifacts', body: upload },
    ],
    [
      'getArtifacts',
      r => r.getArtifacts('a b', { branch: 'f/x', limit: 2 }),
      {
        method: 'GET',
        path: '/services/a%20b/artifacts',
        query: { branch: 'f/x', limit: 2, cursor: undefined },
      },
    ],
    [
      'getArtifact',
      r => r.getArtifact('s', 'x/y'),
      { method: 'GET', path: '/services/s/artifacts/x%2Fy' },
    ],
    [
      'getStatus',
      r => r.getStatus('s'),
      { method: 'GET', path: '/services/s/status' },
    ],
    [
      'getReleases',
      r => r.getReleases('s', { environment: 'prod', cursor: 'c' }),
      {
        method: 'GET',
        path: '/services/s/releases',
        query: { environment: 'prod', limit: undefined, cursor: 'c' },
      },
    ],
    [
      'getTeamReleases',
      r => r.getTeamReleases('payments', new Date(0)),
      {
        method: 'GET',
        path: '/teams/payments/releases',
        query: { since: '1970-01-01T00:00:00.000Z' },
      },
    ],
    [
      'getDora',
      r => r.getDora({ squad: 'payments' }, 90),
      { method: 'GET', path: '/dora', query: { squad: 'payments', days: 90 } },
    ],
    [
      'getSinceYesterday',
      r => r.getSinceYesterday(new Date(0), 'payments'),
      {
        method: 'GET',
        path: '/me/since',
        query: { since: '1970-01-01T00:00:00.000Z', squad: 'payments' },
      },
    ],
    [
      'release',
      r => r.release(release),
      { method: 'POST', path: '/releases', body: release },
    ],
    [
      'promote',
      r => r.promote(promotion),
      { method: 'POST', path: '/promotions', body: promotion },
    ],
    [
      'rollback',
      r => r.rollback(rollback),
      { method: 'POST', path: '/rollbacks', body: rollback },
    ],
    [
      'getDiff',
      r => r.getDiff('s', 'dev', 'a'),
      {
        method: 'GET',
        path: '/services/s/diff',
        query: { environment: 'dev', artifactId: 'a' },
      },
    ],
    [
      'getVerdict',
      r => r.getVerdict('s', 'prod', 'a'),
      {
        method: 'GET',
        path: '/services/s/verdict',
        query: { environment: 'prod', artifactId: 'a' },
      },
    ],
    [
      'getPolicies',
      r => r.getPolicies('s'),
      { method: 'GET', path: '/services/s/policies' },
    ],
    [
      'setAutoReleasePolicy',
      r => r.setAutoReleasePolicy('s', auto),
      { method: 'PUT', path: '/services/s/policies/auto-releases', body: auto },
    ],
    [
      'setBranchRestrictionPolicy',
      r => r.setBranchRestrictionPolicy('s', restriction),
      {
        method: 'PUT',
        path: '/services/s/policies/branch-restrictions',
        body: restriction,
      },
    ],
    [
      'deletePolicy',
      r => r.deletePolicy('s', 'p/1'),
      { method: 'DELETE', path: '/services/s/policies/p%2F1' },
    ],
  ])('%s describes its route', async (_name, call, expected) => {
    const seen: ReleaseManagerRequest[] = [];
    const answer = { ok: true };
    const routes = new ReleaseManagerRoutes(
      async <T>(r: ReleaseManagerRequest) => {
        seen.push(r);
        return answer as T;
      },
    );
    await expect(call(routes)).resolves.toBe(answer);
    expect(seen).toEqual([expected]);
  });
});
