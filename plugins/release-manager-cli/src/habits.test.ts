/*
 * hamctl habits, run against the REAL release manager backend plugin (its router, engine and
 * GitOps writer on a local git host) in a test backend: release by branch and by the checked-out
 * branch, promote without --from, describe with --count, rollback with the terminal picker, and
 * the shell completion script run by bash itself.
 */
import { spawnSync } from 'node:child_process';
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
import { bashScript } from './commands/completion';
import { createProgram } from './index';

jest.setTimeout(120_000);

const ALICE = 'user:default/alice';

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

let baseUrl: string;
let stop: () => Promise<void>;
let dataDir: string;

async function cli(
  argv: string[],
  opts: { cwd?: string; answers?: string[]; interactive?: boolean } = {},
): Promise<Result & { asked: string[] }> {
  let stdout = '';
  let stderr = '';
  const asked: string[] = [];
  const answers = [...(opts.answers ?? [])];
  const code = await run(argv, {
    io: { stdout: t => void (stdout += t), stderr: t => void (stderr += t) },
    cwd: opts.cwd ?? dataDir,
    env: {
      RELEASE_MANAGER_URL: baseUrl,
      RELEASE_MANAGER_TOKEN: mockCredentials.user.token(ALICE),
      RELEASE_MANAGER_CONFIG_DIR: path.join(dataDir, 'no-login'),
    },
    interactive: opts.interactive ?? false,
    prompt: async question => {
      asked.push(question);
      return answers.shift() ?? '';
    },
  });
  return { code, stdout, stderr, asked };
}

const status = async () => {
  const r = await cli(['status', '--service', 'ledger', '--json']);
  expect(r.code).toBe(0);
  return Object.fromEntries(
    (JSON.parse(r.stdout) as any[]).map(s => [s.environment, s.release?.artifactId]),
  );
};

function upload(branch: string, sha: string) {
  const deployment = `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ledger\nspec:\n  replicas: 1\n`;
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
    manifests: {
      dev: { 'deployment.yaml': deployment },
      staging: { 'deployment.yaml': deployment },
      prod: { 'deployment.yaml': deployment },
    },
  };
}

const MAIN_OLD = 'main-1111111111-bbbbbbbbbb';
const FEATURE = 'feature-x-2222222222-bbbbbbbbbb';
const MAIN_NEW = 'main-3333333333-bbbbbbbbbb';

beforeAll(async () => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'rm-cli-habits-'));
  const backend = await startTestBackend({
    features: [
      releaseManagerPlugin,
      mockServices.rootConfig.factory({
        data: {
          backend: { baseUrl: 'http://localhost:7007' },
          devplane: { dataDir },
          // the fixtures' CI principal uploads made-up commits; guardrails have their own tests
          releaseManager: {
            environments: [
              { name: 'dev' },
              { name: 'staging' },
              { name: 'prod', production: true, guardrails: { uploaders: ['external:test-service'], verifyBranch: false } },
            ],
          },
        },
      }),
      catalogServiceMock.factory({
        entities: [
          {
            apiVersion: 'backstage.io/v1alpha1',
            kind: 'User',
            metadata: { name: 'alice', namespace: 'default' },
            spec: { profile: { email: 'alice@bank.example' } },
          },
        ],
      }),
      createServiceFactory({ service: notificationService, deps: {}, factory: () => ({ send: async () => {} }) }),
      createServiceFactory({ service: signalsServiceRef, deps: {}, factory: () => ({ publish: async () => {} }) }),
      // the CLI is not what decides permissions; the backend's own tests and the MCP test cover them
      createServiceFactory({
        service: coreServices.permissions,
        deps: {},
        factory: () => mockServices.permissions(),
      }),
    ],
  });
  const port = (backend.server.address() as any).port;
  baseUrl = `http://localhost:${port}/api/release-manager`;
  stop = () => backend.stop();
  for (const [branch, sha] of [
    ['main', '1111111111aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'],
    ['feature-x', '2222222222aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'],
    ['main', '3333333333aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'],
  ]) {
    const res = await fetch(`${baseUrl}/artifacts`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: mockCredentials.service.header() },
      body: JSON.stringify(upload(branch, sha)),
    });
    if (res.status !== 201) throw new Error(`upload failed: ${res.status} ${await res.text()}`);
    await new Promise(r => setTimeout(r, 20)); // distinct createdAt, newest last
  }
});

afterAll(async () => {
  await stop?.();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

describe('release by branch', () => {
  it('refuses a release that names no artifact, and sends nothing', async () => {
    const before = await status();
    const r = await cli(['release', '--service', 'ledger', '-e', 'dev']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('give exactly one of --artifact <id>, --branch <branch> or --current-branch');
    const both = await cli(['release', '--service', 'ledger', '-e', 'dev', '-b', 'main', '--artifact', MAIN_OLD]);
    expect(both.code).toBe(2);
    expect(await status()).toEqual(before);
  });

  it('releases the newest artifact of a branch with -e / -b', async () => {
    const r = await cli(['release', '--service', 'ledger', '-e', 'dev', '-b', 'main']);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`newest artifact of main: ${MAIN_NEW}`);
    expect(r.stdout).toMatch(new RegExp(`^ledger: released ${MAIN_NEW} to dev\n  commit [0-9a-f]{7} by `));
    expect((await status()).dev).toBe(MAIN_NEW);
  });

  it('says not found (exit 3) for a branch without artifacts', async () => {
    const r = await cli(['release', '--service', 'ledger', '-e', 'dev', '--branch', 'nope']);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain("no artifact from branch 'nope'");
  });

  it('releases the branch checked out in the local git work tree with --current-branch', async () => {
    const repo = fs.mkdtempSync(path.join(os.tmpdir(), 'rm-cli-repo-'));
    const git = (...args: string[]) =>
      spawnSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], { cwd: repo });
    git('init', '-q', '-b', 'feature-x');
    fs.writeFileSync(path.join(repo, 'shuttle.yaml'), 'plan: false\nvars:\n  service: ledger\n');
    git('add', '.');
    git('commit', '-qm', 'init');
    const r = await cli(['release', '-e', 'dev', '--current-branch'], { cwd: path.join(repo) });
    expect(r.stderr).toContain(`newest artifact of feature-x: ${FEATURE}`);
    expect(r.code).toBe(0);
    expect((await status()).dev).toBe(FEATURE);

    git('checkout', '-q', '--detach');
    const detached = await cli(['release', '-e', 'dev', '--current-branch'], { cwd: repo });
    expect(detached.code).toBe(2);
    expect(detached.stderr).toContain('HEAD is detached');
    fs.rmSync(repo, { recursive: true, force: true });
  });

  it('promotes into an environment from the one before it when --from is left out', async () => {
    const r = await cli(['promote', '--service', 'ledger', '-e', 'staging']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`ledger: ${FEATURE} promoted from dev to staging`);
    expect((await status()).staging).toBe(FEATURE);
  });
});

describe('listing with describe --count', () => {
  it('lists the last releases of an environment, newest first, and --json for scripts', async () => {
    const r = await cli(['describe', 'releases', '--service', 'ledger', '-e', 'dev', '--count', '2']);
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('ledger in dev: last 2 release(s), newest first');
    expect(lines[1]).toMatch(/^RELEASED\s+ARTIFACT\s+BRANCH\s+INTENT\s+BY\s+ROLLOUT\s+REASON$/);
    expect(lines[2]).toContain(FEATURE);
    expect(lines[3]).toContain(MAIN_NEW);

    const json = await cli(['describe', 'release', '--service', 'ledger', '-e', 'dev', '--count', '1', '--json']);
    expect(JSON.parse(json.stdout).map((x: any) => x.artifactId)).toEqual([FEATURE]);

    // the plural lists (default 5); the singular without --count shows the running release
    const plural = await cli(['describe', 'releases', '--service', 'ledger', '-e', 'dev']);
    expect(plural.stdout.split('\n')[0]).toBe('ledger in dev: last 2 release(s), newest first');
    const single = await cli(['describe', 'release', '--service', 'ledger', '-e', 'dev']);
    expect(single.stdout).toMatch(new RegExp(`^Service: +ledger\nEnvironment: +dev\nArtifact: +${FEATURE}\n`));

    const bad = await cli(['describe', 'releases', '--service', 'ledger', '-e', 'dev', '--count', '0']);
    expect(bad.code).toBe(2);
  });

  it('lists the newest artifacts, optionally of one branch', async () => {
    const r = await cli(['describe', 'artifacts', '--service', 'ledger', '-b', 'main', '--count', '5', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).map((a: any) => a.id)).toEqual([MAIN_NEW, MAIN_OLD]);
    const human = await cli(['describe', 'artifacts', '--service', 'ledger', '--count', '2']);
    expect(human.stdout.split('\n')[0]).toBe('ledger: newest 2 artifact(s)');
    expect(human.stdout).toContain(MAIN_NEW);
    expect(human.stdout).toContain(FEATURE);
    expect(human.stdout).not.toContain(MAIN_OLD);
  });
});

describe('rollback', () => {
  it('without a terminal requires --artifact or --previous, and changes nothing', async () => {
    const before = await status();
    const r = await cli(['rollback', '--service', 'ledger', '-e', 'dev']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('pass --artifact <id>, or --previous');
    expect(await status()).toEqual(before);
  });

  it('on a terminal offers the earlier artifacts and rolls back to the chosen one', async () => {
    // dev history, newest first: FEATURE (current), MAIN_NEW
    const r = await cli(['rollback', '--service', 'ledger', '-e', 'dev'], {
      interactive: true,
      answers: ['7', '1'],
    });
    expect(r.asked).toHaveLength(2);
    expect(r.stderr).toContain(`ledger in dev runs ${FEATURE}. Roll back to:`);
    expect(r.stderr).toMatch(new RegExp(`1\\s+${MAIN_NEW}\\s+main`));
    expect(r.stderr).toContain("'7' is not one of 1-1");
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`ledger: rolled dev back to ${MAIN_NEW}`);
    expect((await status()).dev).toBe(MAIN_NEW);
  });

  it('on a terminal, q cancels and nothing changes', async () => {
    const before = await status();
    const r = await cli(['rollback', '--service', 'ledger', '-e', 'dev'], { interactive: true, answers: ['q'] });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('cancelled, nothing changed');
    expect(await status()).toEqual(before);
  });

  it('--previous rolls back without asking', async () => {
    const released = await cli(['release', '--service', 'ledger', '-e', 'dev', '--artifact', MAIN_OLD]);
    expect(released.code).toBe(0);
    const r = await cli(['rollback', '--service', 'ledger', '-e', 'dev', '--previous'], { interactive: true });
    expect(r.asked).toHaveLength(0);
    expect(r.code).toBe(0);
    expect((await status()).dev).toBe(MAIN_NEW);
  });
});

describe('policy list | apply | delete', () => {
  it('applies, lists and deletes policies in the real backend, and --json gives what the API answers', async () => {
    const applied = await cli(['policy', 'apply', 'auto-release', '--service', 'ledger', '--branch', 'main', '--env', 'dev']);
    expect(applied.code).toBe(0);
    expect(applied.stdout.split('\n')[0]).toBe('ledger: artifacts from branch main will be released to dev automatically');
    const restricted = await cli(['policy', 'apply', 'branch-restriction', '--service', 'ledger', '--regex', '^main$', '--env', 'staging']);
    expect(restricted.code).toBe(0);

    const listed = await cli(['policy', 'list', '--service', 'ledger', '--json']);
    expect(listed.code).toBe(0);
    const policies = JSON.parse(listed.stdout);
    expect(policies.autoReleases).toEqual([expect.objectContaining({ branch: 'main', environment: 'dev' })]);
    expect(policies.branchRestrictions).toEqual(
      expect.arrayContaining([expect.objectContaining({ branchRegex: '^main$', environment: 'staging' })]),
    );
    const human = await cli(['policy', 'list', '--service', 'ledger']);
    expect(human.stdout).toContain(policies.autoReleases[0].id);

    // a bad environment is refused before anything is sent; an unknown id by the server
    const bad = await cli(['policy', 'apply', 'auto-release', '--service', 'ledger', '--branch', 'main', '--env', 'Prod!']);
    expect(bad.code).toBe(2);
    const unknown = await cli(['policy', 'delete', '--service', 'ledger', '--id', 'no-such-policy']);
    expect(unknown.code).not.toBe(0);

    const deleted = await cli(['policy', 'delete', '--service', 'ledger', '--id', policies.autoReleases[0].id]);
    expect(deleted.code).toBe(0);
    const after = JSON.parse((await cli(['policy', 'list', '--service', 'ledger', '--json'])).stdout);
    expect(after.autoReleases).toEqual([]);
    expect(after.branchRestrictions).toEqual(policies.branchRestrictions);
  });
});

describe('shell completion', () => {
  const complete = (line: string) => {
    const script = bashScript(
      createProgram({ io: { stdout: () => {}, stderr: () => {} }, cwd: '.', env: {} }),
      'release-manager',
    );
    const words = line.split(' ');
    const r = spawnSync(
      'bash',
      [
        '-c',
        `${script}\nCOMP_WORDS=(${words.map(w => `'${w}'`).join(' ')}); COMP_CWORD=${
          words.length - 1
        }; _release_manager_complete; printf '%s\\n' "\${COMPREPLY[@]}"`,
      ],
      { encoding: 'utf8' },
    );
    expect(r.stderr).toBe('');
    return r.stdout.trim().split('\n').filter(Boolean);
  };

  it('completes commands, subcommands, flags and environment names in bash', () => {
    expect(complete('release-manager ro')).toEqual(['rollback']);
    expect(complete('release-manager describe ')).toEqual(
      expect.arrayContaining(['release', 'releases', 'artifact', 'artifacts']),
    );
    expect(complete('release-manager release --cu')).toEqual(['--current-branch']);
    expect(complete('release-manager policy apply ')).toEqual(
      expect.arrayContaining(['auto-release', 'branch-restriction']),
    );
    expect(complete('release-manager release -e ')).toEqual(['dev', 'staging', 'prod']);
    expect(complete('release-manager release --service ledger --')).toContain('--branch');
  });

  it('prints bash and zsh scripts, and refuses other shells', async () => {
    const bash = await cli(['completion', 'bash']);
    expect(bash.code).toBe(0);
    expect(bash.stdout).toContain('complete -F _release_manager_complete release-manager');
    const zsh = await cli(['completion', 'zsh']);
    expect(zsh.stdout).toContain('bashcompinit');
    const fish = await cli(['completion', 'fish']);
    expect(fish.code).toBe(2);
  });
});
