/*
 * `approvals` and `freeze` commands and `--break-glass`, run against the REAL release manager
 * backend plugin (router, approval service, engine, GitOps writer on a local git host) in a test
 * backend: prod requires four eyes, dev is inside a dated freeze window. Two users: alice asks,
 * bob approves. Permissions allow everything (the real policy's break-glass rule for platform
 * only is tested in packages/backend/src/approvals.test.ts and the adversarial suite).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { coreServices, createServiceFactory } from '@backstage/backend-plugin-api';
import { mockCredentials, mockServices, startTestBackend } from '@backstage/backend-test-utils';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { notificationService } from '@backstage/plugin-notifications-node';
import { signalsServiceRef } from '@backstage/plugin-signals-node';
import releaseManagerPlugin from '@devplane/plugin-release-manager-backend';
import { run } from './index';

jest.setTimeout(120_000);

const ALICE = 'user:default/alice';
const BOB = 'user:default/bob';

let baseUrl: string;
let stop: () => Promise<void>;
let dataDir: string;

async function cli(argv: string[], as = ALICE) {
  let stdout = '';
  let stderr = '';
  const code = await run(argv, {
    io: { stdout: t => void (stdout += t), stderr: t => void (stderr += t) },
    cwd: dataDir,
    env: {
      RELEASE_MANAGER_URL: baseUrl,
      RELEASE_MANAGER_TOKEN: mockCredentials.user.token(as),
      RELEASE_MANAGER_CONFIG_DIR: path.join(dataDir, 'no-login'),
    },
    interactive: false,
  });
  return { code, stdout, stderr };
}

const running = async () => {
  const r = await cli(['status', '--service', 'ledger', '--json']);
  expect(r.code).toBe(0);
  return Object.fromEntries(
    (JSON.parse(r.stdout) as any[]).map(s => [s.environment, s.release]),
  );
};

function upload(branch: string, sha: string) {
  const deployment = `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ledger\nspec:\n  replicas: 1\n  template: {metadata: {labels: {sha: "${sha.slice(0, 10)}"}}}\n`;
  const files = { 'deployment.yaml': deployment };
  return {
    spec: {
      id: `${branch}-${sha.slice(0, 10)}-bbbbbbbbbb`,
      service: 'ledger',
      namespace: 'payments',
      application: {
        branch,
        sha,
        authorName: 'Dev',
        authorEmail: 'dev@bank.example',
        message: `work on ${branch}`,
        name: 'ledger',
      },
    },
    manifests: { dev: files, staging: files, prod: files },
  };
}

const OLD = 'main-1111111111-bbbbbbbbbb';
const NEW = 'main-3333333333-bbbbbbbbbb';

const day = (offset: number) =>
  new Date(Date.now() + offset * 86400_000).toISOString().slice(0, 10);

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rm-cli-approvals-'));
  const user = (name: string) => ({
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'User',
    metadata: { name, namespace: 'default' },
    spec: { profile: { email: `${name}@bank.example` } },
  });
  const backend = await startTestBackend({
    features: [
      releaseManagerPlugin,
      mockServices.rootConfig.factory({
        data: {
          backend: { baseUrl: 'http://localhost:7007' },
          devplane: { dataDir },
          releaseManager: {
            environments: [
              { name: 'dev' },
              { name: 'staging' },
              {
                name: 'prod',
                production: true,
                requireApproval: true,
                guardrails: { uploaders: ['external:test-service'], verifyBranch: false },
              },
            ],
            freezeWindows: [
              {
                id: 'audit-week',
                title: 'Audit week',
                environments: ['dev'],
                start: day(-1),
                end: day(2),
              },
            ],
          },
        },
      }),
      catalogServiceMock.factory({ entities: [user('alice'), user('bob')] }),
      createServiceFactory({ service: notificationService, deps: {}, factory: () => ({ send: async () => {} }) }),
      createServiceFactory({ service: signalsServiceRef, deps: {}, factory: () => ({ publish: async () => {} }) }),
      createServiceFactory({
        service: coreServices.permissions,
        deps: {},
        factory: () => mockServices.permissions(),
      }),
    ],
  });
  baseUrl = `http://localhost:${(backend.server.address() as any).port}/api/release-manager`;
  stop = () => backend.stop();
  for (const [branch, sha] of [
    ['main', '1111111111aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'],
    ['main', '3333333333aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'],
  ]) {
    const res = await fetch(`${baseUrl}/artifacts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: mockCredentials.service.header() },
      body: JSON.stringify(upload(branch, sha)),
    });
    if (res.status !== 201) throw new Error(`upload failed: ${res.status} ${await res.text()}`);
    await new Promise(r => setTimeout(r, 20));
  }
});

afterAll(async () => {
  await stop?.();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('four eyes from the command line', () => {
  let requestId: string;

  it('turns a promotion into prod into a pending request; nothing is written', async () => {
    expect((await cli(['release', '--service', 'ledger', '-e', 'staging', '--artifact', OLD])).code).toBe(0);
    const r = await cli(['promote', '--service', 'ledger', '--to', 'prod']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('ledger: waiting for approval, nothing was written');
    const id = r.stdout.match(/request ([0-9a-f-]{36})/)?.[1];
    expect(id).toBeDefined();
    requestId = id!;
    expect(r.stdout).toContain(`release-manager approvals approve ${requestId}`);
    expect((await running()).prod).toBeUndefined();
  });

  it('lists it for bob (who may approve), not as waiting for alice (who asked)', async () => {
    const bob = await cli(['approvals', 'list'], BOB);
    expect(bob.code).toBe(0);
    expect(bob.stdout).toContain(requestId);
    expect(bob.stdout).toContain('may approve');
    const alice = await cli(['approvals', 'list']);
    expect(alice.stdout).toBe('no approval requests\n');
    const all = await cli(['approvals', 'list', '--all']);
    expect(all.stdout).toContain('may not: you asked for this change');
    const show = await cli(['approvals', 'show', requestId], BOB);
    expect(show.code).toBe(0);
    expect(show.stdout).toContain(`alice@bank.example asks to promote ${OLD} in prod (from staging)`);
    expect(show.stdout).toContain('verdict:');
    expect(show.stdout).toContain('added deployment.yaml');
  });

  it('refuses alice approving her own request (exit 4), with the reason', async () => {
    const r = await cli(['approvals', 'approve', requestId]);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('you asked for this change');
    expect((await running()).prod).toBeUndefined();
  });

  it('checks ids and reasons before sending anything', async () => {
    expect((await cli(['approvals', 'approve', '../../etc'], BOB)).code).toBe(2);
    const noReason = await cli(['approvals', 'reject', requestId], BOB);
    expect(noReason.code).toBe(2);
    expect(noReason.stderr).toContain('--reason is required');
  });

  it('bob approves: prod runs the reviewed artifact, the commit names both', async () => {
    const r = await cli(['approvals', 'approve', requestId], BOB);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`approved: ledger ${OLD} released to prod`);
    expect(r.stdout).toContain('by alice@bank.example, approved by bob@bank.example');
    const prod = (await running()).prod;
    expect(prod.artifactId).toBe(OLD);
    expect(prod.releasedBy).toBe('alice@bank.example');
    expect(prod.approvedBy).toBe('bob@bank.example');
    // decided: approving again is a conflict (exit 5), nothing more is written
    const again = await cli(['approvals', 'approve', requestId], BOB);
    expect(again.code).toBe(5);
    expect((await running()).prod.id).toBe(prod.id);
  });
});

describe('freeze windows from the command line', () => {
  it('lists the window in force', async () => {
    const r = await cli(['freeze', 'list']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/audit-week\s+Audit week\s+dev\s+org-wide/);
    expect(r.stdout).toContain('FROZEN until');
    expect((await cli(['freeze', 'list', '--days', '0'])).code).toBe(2);
  });

  it('refuses a release into the frozen environment (exit 4); nothing is written', async () => {
    const before = (await running()).dev;
    const r = await cli(['release', '--service', 'ledger', '-e', 'dev', '--artifact', NEW]);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('freeze window audit-week');
    expect((await running()).dev).toEqual(before);
  });

  it('refuses --break-glass without a reason before sending', async () => {
    const r = await cli(['release', '--service', 'ledger', '-e', 'dev', '--artifact', NEW, '--break-glass']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--break-glass needs a reason');
  });

  it('writes a break-glass release with its reason, flagged', async () => {
    const r = await cli([
      'release', '--service', 'ledger', '-e', 'dev', '--artifact', NEW,
      '--break-glass', '--reason', 'card outage fix',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('BREAK-GLASS (recorded and flagged): card outage fix');
    const dev = (await running()).dev;
    expect(dev.artifactId).toBe(NEW);
    expect(dev.breakGlass).toBe('card outage fix');
    expect(dev.freezeWindow).toBe('audit-week');
  });
});
