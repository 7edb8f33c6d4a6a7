import { ResponseError } from '@backstage/errors';
import { ReleaseManagerClient } from './ReleaseManagerClient';

function setup(response: () => Response) {
  const fetch = jest.fn(async (_url: string, _init?: RequestInit) => response());
  const client = new ReleaseManagerClient({
    discoveryApi: {
      getBaseUrl: async (pluginId: string) => `http://backend/api/${pluginId}`,
    },
    fetchApi: { fetch: fetch as any },
  });
  return { client, fetch };
}

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json' },
  });

describe('ReleaseManagerClient', () => {
  it('reads every GET route of the contract', async () => {
    const { client, fetch } = setup(() => json({ items: [] }));
    const since = new Date('2026-01-02T03:04:05.000Z');
    await client.getEnvironments();
    await client.getArtifacts('pay ment', { branch: 'feature/x', limit: 5, cursor: 'abc' });
    await client.getArtifacts('svc');
    await client.getArtifact('svc', 'master-1-2');
    await client.getStatus('svc');
    await client.getReleases('svc', { environment: 'prod', limit: 50 });
    await client.getTeamReleases('payments', since);
    await client.getDiff('svc', 'staging', 'master-1-2');
    await client.getVerdict('svc', 'prod', 'feature-1-2');
    await client.getPolicies('svc');
    expect(fetch.mock.calls.map(c => c[0])).toEqual([
      'http://backend/api/release-manager/environments',
      'http://backend/api/release-manager/services/pay%20ment/artifacts?branch=feature%2Fx&limit=5&cursor=abc',
      'http://backend/api/release-manager/services/svc/artifacts',
      'http://backend/api/release-manager/services/svc/artifacts/master-1-2',
      'http://backend/api/release-manager/services/svc/status',
      'http://backend/api/release-manager/services/svc/releases?environment=prod&limit=50',
      'http://backend/api/release-manager/teams/payments/releases?since=2026-01-02T03%3A04%3A05.000Z',
      'http://backend/api/release-manager/services/svc/diff?environment=staging&artifactId=master-1-2',
      'http://backend/api/release-manager/services/svc/verdict?environment=prod&artifactId=feature-1-2',
      'http://backend/api/release-manager/services/svc/policies',
    ]);
  });

  it('sends release, promotion, rollback and policy changes with JSON bodies', async () => {
    const { client, fetch } = setup(() => json({ changed: true, message: 'ok' }));
    await client.release({ service: 's', environment: 'dev', artifactId: 'a' });
    await client.promote({ service: 's', fromEnvironment: 'dev', toEnvironment: 'staging' });
    await client.rollback({ service: 's', environment: 'prod', artifactId: 'old' });
    await client.setAutoReleasePolicy('s', { branch: 'master', environment: 'dev' });
    await client.setBranchRestrictionPolicy('s', { branchRegex: '^main$', environment: 'prod' });
    await client.deletePolicy('s', 'p/1');
    const calls = fetch.mock.calls.map(([url, init]) => [
      init?.method,
      url.replace('http://backend/api/release-manager', ''),
      init?.body ? JSON.parse(String(init.body)) : undefined,
    ]);
    expect(calls).toEqual([
      ['POST', '/releases', { service: 's', environment: 'dev', artifactId: 'a' }],
      ['POST', '/promotions', { service: 's', fromEnvironment: 'dev', toEnvironment: 'staging' }],
      ['POST', '/rollbacks', { service: 's', environment: 'prod', artifactId: 'old' }],
      ['PUT', '/services/s/policies/auto-releases', { branch: 'master', environment: 'dev' }],
      ['PUT', '/services/s/policies/branch-restrictions', { branchRegex: '^main$', environment: 'prod' }],
      ['DELETE', '/services/s/policies/p%2F1', undefined],
    ]);
    expect(fetch.mock.calls[0][1]?.headers).toEqual({ 'Content-Type': 'application/json' });
  });

  it('throws a ResponseError carrying the server message', async () => {
    const { client } = setup(() =>
      json(
        {
          error: { name: 'NotAllowedError', message: 'prod accepts only master/main' },
          response: { statusCode: 403 },
        },
        403,
      ),
    );
    const error = await client
      .release({ service: 's', environment: 'prod', artifactId: 'f' })
      .catch(e => e);
    expect(error).toBeInstanceOf(ResponseError);
    expect(error.statusCode).toBe(403);
    expect(error.body.error.message).toBe('prod accepts only master/main');
  });

  it('downloads the audit export through fetchApi as a blob named as the backend says', async () => {
    const csv = 'commit,seq\r\nabc,1\r\n';
    const { client, fetch } = setup(
      () =>
        new Response(csv, {
          status: 200,
          headers: {
            'Content-Type': 'text/csv; charset=utf-8',
            'Content-Disposition': 'attachment; filename="audit-2026-01-01_2026-02-01.csv"',
          },
        }),
    );
    const got = await client.downloadAuditExport({ format: 'csv', from: '2026-01-01', to: '2026-02-01', squad: 'payments' });
    expect(fetch.mock.calls[0][0]).toBe(
      'http://backend/api/release-manager/audit/export?format=csv&from=2026-01-01&to=2026-02-01&squad=payments',
    );
    expect(got.filename).toBe('audit-2026-01-01_2026-02-01.csv');
    expect(await got.blob.text()).toBe(csv);
  });

  it('a refused export is a ResponseError, not a file', async () => {
    const { client } = setup(() =>
      json({ error: { name: 'NotAllowedError', message: 'give service= or squad=' }, response: { statusCode: 403 } }, 403),
    );
    const error = await client.downloadAuditExport({ format: 'ndjson' }).catch(e => e);
    expect(error).toBeInstanceOf(ResponseError);
    expect(error.body.error.message).toBe('give service= or squad=');
  });
});
