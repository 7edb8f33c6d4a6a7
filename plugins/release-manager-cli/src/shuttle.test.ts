import path from 'node:path';
import { ARTIFACT_ID, StandIn, cli, tempTree } from './__testUtils__/standIn';

describe('service from shuttle.yaml', () => {
  let server: StandIn;
  beforeEach(async () => {
    server = await new StandIn().start();
  });
  afterEach(() => server.stop());

  it('uses vars.service of the nearest shuttle.yaml, walking up from cwd', async () => {
    const repo = tempTree({
      'shuttle.yaml':
        'plan: false\nvars:\n  service: payment-gateway\n  squad: payments\n',
      'src/deep/dir/.keep': '',
    });
    const r = await cli(['status'], {
      url: server.url,
      cwd: path.join(repo, 'src', 'deep', 'dir'),
    });
    expect(r.code).toBe(0);
    expect(server.last.path).toBe(
      '/api/release-manager/services/payment-gateway/status',
    );
  });

  it('falls back to the repo directory name without vars.service', async () => {
    const parent = tempTree({
      'payment-gateway/shuttle.yaml': 'plan: false\nvars:\n  squad: payments\n',
    });
    const r = await cli(
      ['release', '--env', 'dev', '--artifact', ARTIFACT_ID],
      { url: server.url, cwd: path.join(parent, 'payment-gateway') },
    );
    expect(r.code).toBe(0);
    expect(server.last.body).toMatchObject({ service: 'payment-gateway' });
  });

  it('lets --service win over shuttle.yaml', async () => {
    const repo = tempTree({ 'shuttle.yaml': 'vars:\n  service: ledger\n' });
    await cli(['policy', 'list', '--service', 'payment-gateway'], {
      url: server.url,
      cwd: repo,
    });
    expect(server.last.path).toBe(
      '/api/release-manager/services/payment-gateway/policies',
    );
  });

  it('exits 2 without --service outside a repo', async () => {
    const r = await cli(['status'], { url: server.url });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(
      /no --service given and no shuttle.yaml found in .* or its parents/,
    );
    expect(server.requests).toHaveLength(0);
  });

  it('exits 2 when shuttle.yaml names an invalid service', async () => {
    const repo = tempTree({ 'shuttle.yaml': 'vars:\n  service: ../../etc\n' });
    const r = await cli(['status'], { url: server.url, cwd: repo });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("service '../../etc' is invalid");
    expect(r.stderr).toContain('pass --service');
    expect(server.requests).toHaveLength(0);
  });

  it('exits 2 on broken YAML', async () => {
    const repo = tempTree({ 'shuttle.yaml': 'vars: [unclosed\n' });
    const r = await cli(['status'], { url: server.url, cwd: repo });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('cannot read');
  });
});
