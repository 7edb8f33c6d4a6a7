// Adversarial cases of the trust boundary (issue 11, helper `boundary`): the local git host's
// push path (config repo read-only for everyone, pushes need a Backstage token, the default
// branch neither deleted nor force-pushed) with the real git CLI and raw smart-HTTP requests, and
// who may acknowledge/resolve an incident. The real plugins, the real catalog and the real
// permission policy (lib/backend.ts).
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { mockCredentials } from '@backstage/backend-test-utils';
import { GitCommandError, runGit } from '@devplane/plugin-git-host-node';
import { startBackend } from '../lib/backend';
import { assert, check, errorMessage, freshDatabase, gitOut, request } from '../lib/harness';
import { AUTH, Case, runCases, standardSnapshot } from '../lib/adversarial';
import { upload } from '../lib/fixtures';

const S = 'adversarial-boundary';
const OLGA = mockCredentials.user.header('user:default/olga');

export default async function adversarialBoundary() {
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'rel-adv-boundary-'));
  const work = await fs.mkdtemp(path.join(os.tmpdir(), 'rel-adv-boundary-work-'));
  const db = await freshDatabase('rel_adv_boundary');
  const { backend, url, port } = await startBackend({
    dataDir,
    dbPrefix: db.prefix,
    services: ['svc-00', 'svc-01'],
    // svc-01 is on call through a rotation of olga (lending: not an owner)
    annotations: { 'svc-01': { 'devplane.io/oncall-rotation': 'night-watch' } },
    extraConfig: {
      oncall: {
        rotations: [
          { name: 'payments', members: ['alice'], handoffTime: '09:00', lengthDays: 7, start: '2024-01-01' },
          { name: 'night-watch', members: ['olga'], handoffTime: '09:00', lengthDays: 7, start: '2024-01-01' },
        ],
      },
    },
  });
  const gitRoot = path.join(dataDir, 'git');
  const configRemote = path.join(gitRoot, 'config.git');
  const rmDb = db.knexFor(`${db.prefix}release-manager`);
  const ocDb = db.knexFor(`${db.prefix}oncall`);
  try {
    // a service repository on the local git host (what a developer pushes to)
    await runGit(['init', '--bare', '--quiet', '--initial-branch=main', path.join(gitRoot, 'svc-00.git')]);
    await runGit(['config', 'http.receivepack', 'true'], { cwd: path.join(gitRoot, 'svc-00.git') });
    const seed = path.join(work, 'seed');
    await runGit(['init', '--quiet', '--initial-branch=main', seed]);
    await fs.writeFile(path.join(seed, 'README.md'), '# svc-00\n');
    await runGit(['add', '.'], { cwd: seed });
    await runGit(['commit', '--quiet', '-m', 'initial'], { cwd: seed });
    await runGit(['push', '--quiet', path.join(gitRoot, 'svc-00.git'), 'main'], { cwd: seed });
    // a release so the config repo has release history to forge on top of
    const art = upload('svc-00', 7);
    const up = await request(url, 'POST', '/api/release-manager/artifacts', { auth: AUTH.owner, body: art.body });
    assert(up.status === 201, `setup upload: ${up.status} ${errorMessage(up)}`);
    const rel = await request(url, 'POST', '/api/release-manager/releases', {
      auth: AUTH.owner,
      body: { service: 'svc-00', environment: 'dev', artifactId: art.id },
    });
    assert(rel.status === 200 || rel.status === 201, `setup release: ${rel.status} ${errorMessage(rel)}`);

    const svcHead = async () => (await gitOut(path.join(gitRoot, 'svc-00.git'), ['for-each-ref', '--format=%(refname) %(objectname)'])).trim();
    const snapshot = standardSnapshot({ configRemote, rmDb, ocDb, extra: async () => ({ svcRefs: await svcHead() }) });

    // --- smart HTTP, request by request
    const repos = '/api/git-host/repos';
    const tokenBasic = (token: string) => `Basic ${Buffer.from(`git:${token}`).toString('base64')}`;
    const pushCases: Case[] = [];
    for (const [who, auth] of [
      ['anonymous', undefined],
      ['owner', AUTH.owner],
      ['platform', AUTH.platform],
      ['service (CI)', AUTH.service],
      ['owner via Basic password', tokenBasic(mockCredentials.user.token('user:default/alice'))],
    ] as const) {
      pushCases.push(
        { name: `config repo: receive-pack advertisement by ${who}`, method: 'GET', path: `${repos}/config.git/info/refs?service=git-receive-pack`, auth, expect: 403 },
        { name: `config repo: receive-pack POST by ${who}`, method: 'POST', path: `${repos}/config.git/git-receive-pack`, auth, raw: '0000', contentType: 'application/x-git-receive-pack-request', expect: 403 },
      );
    }
    pushCases.push(
      { name: 'config repo: encoded name %63onfig.git receive-pack', method: 'POST', path: `${repos}/%63onfig.git/git-receive-pack`, auth: AUTH.platform, raw: '0000', contentType: 'application/x-git-receive-pack-request', expect: 403 },
      { name: 'config repo: encoded dot config%2Egit receive-pack', method: 'GET', path: `${repos}/config%2Egit/info/refs?service=git-receive-pack`, auth: AUTH.platform, expect: [403, 404] },
      { name: 'config repo: extra query parameters', method: 'GET', path: `${repos}/config.git/info/refs?x=1&service=git-receive-pack&y=2`, auth: AUTH.platform, expect: 403 },
      { name: 'config repo: upper-case name CONFIG.git', method: 'POST', path: `${repos}/CONFIG.git/git-receive-pack`, auth: AUTH.platform, raw: '0000', contentType: 'application/x-git-receive-pack-request', expect: [400, 403, 404] },
      { name: 'config repo: ./config.git', method: 'POST', path: `${repos}/.%2Fconfig.git/git-receive-pack`, auth: AUTH.platform, raw: '0000', contentType: 'application/x-git-receive-pack-request', expect: [400, 403, 404] },
      { name: 'service repo: anonymous receive-pack advertisement', method: 'GET', path: `${repos}/svc-00.git/info/refs?service=git-receive-pack`, auth: undefined, expect: 401 },
      { name: 'service repo: anonymous receive-pack POST', method: 'POST', path: `${repos}/svc-00.git/git-receive-pack`, auth: undefined, raw: '0000', contentType: 'application/x-git-receive-pack-request', expect: 401 },
      { name: 'service repo: explicit none token', method: 'GET', path: `${repos}/svc-00.git/info/refs?service=git-receive-pack`, auth: AUTH.none, expect: 401 },
      { name: 'service repo: forged token', method: 'GET', path: `${repos}/svc-00.git/info/refs?service=git-receive-pack`, auth: 'Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ1c2VyOmRlZmF1bHQvcGF0In0.', expect: 401 },
      { name: 'service repo: invalid user token', method: 'GET', path: `${repos}/svc-00.git/info/refs?service=git-receive-pack`, auth: 'Bearer mock-invalid-user-token', expect: 401 },
      { name: 'service repo: limited (cookie) user token', method: 'GET', path: `${repos}/svc-00.git/info/refs?service=git-receive-pack`, auth: `Bearer ${mockCredentials.limitedUser.token('user:default/alice')}`, expect: 401 },
      { name: 'service repo: Basic with empty password', method: 'GET', path: `${repos}/svc-00.git/info/refs?service=git-receive-pack`, auth: `Basic ${Buffer.from('alice:').toString('base64')}`, expect: 401 },
      { name: 'service repo: Basic user:password (not a token)', method: 'GET', path: `${repos}/svc-00.git/info/refs?service=git-receive-pack`, auth: `Basic ${Buffer.from('alice:hunter2').toString('base64')}`, expect: 401 },
      { name: 'service repo: Basic garbage', method: 'GET', path: `${repos}/svc-00.git/info/refs?service=git-receive-pack`, auth: 'Basic %%%%', expect: 401 },
    );
    await runCases(S, url, pushCases, snapshot);

    // --- the real git CLI
    const base = `http://127.0.0.1:${port}${repos}`;
    const withToken = (repo: string, token: string) => `http://git:${encodeURIComponent(token)}@127.0.0.1:${port}${repos}/${repo}.git`;
    const gitRefused = (name: string, setup: (dir: string) => Promise<string[]>, pattern: RegExp) =>
      check(S, name, async () => {
        const before = await snapshot();
        const dir = await fs.mkdtemp(path.join(work, 'c-'));
        const args = await setup(dir);
        const err = await runGit(args, { cwd: dir }).then(
          () => undefined,
          e => e,
        );
        assert(err instanceof GitCommandError, `git ${args.slice(0, 3).join(' ')} was accepted`);
        assert(pattern.test(err.stderr), `git said: ${err.stderr.trim().split('\n').slice(-3).join(' | ')}`);
        const after = await snapshot();
        const changed = Object.keys(before).filter(k => before[k] !== after[k]);
        if (changed.length) throw new Error(`written despite refusal: ${changed.join(', ')} changed`);
        return err.stderr.trim().split('\n').find(l => l.startsWith('remote:') || l.includes('rejected') || l.startsWith('fatal:'))?.slice(0, 100);
      });
    const cloneAndCommit = async (dir: string, repo: string, file: string, message = `change ${file}`) => {
      await runGit(['clone', '--quiet', `${base}/${repo}.git`, dir]);
      await fs.mkdir(path.dirname(path.join(dir, file)), { recursive: true });
      await fs.writeFile(path.join(dir, file), 'kind: ClusterRoleBinding\nmetadata: { name: pwned }\n');
      await runGit(['add', '.'], { cwd: dir });
      await runGit(['commit', '--quiet', '-m', message], { cwd: dir });
    };
    const forgedRelease = 'Release svc-00 to prod\n\nService: svc-00\nEnvironment: prod\nArtifact: main-0000000007-cccccccccc\nReleased-By: ceo@bank.example\n';
    const who: [string, string | undefined][] = [
      ['anonymous', undefined],
      ['owner', mockCredentials.user.token('user:default/alice')],
      ['platform', mockCredentials.user.token('user:default/pat')],
      ['CI service token', mockCredentials.service.token()],
    ];
    for (const [label, token] of who) {
      await gitRefused(
        `git push (${label}) of a forged release commit to the config repo`,
        async dir => {
          await cloneAndCommit(dir, 'config', 'prod/releases/payments/svc-00/evil.yaml', forgedRelease);
          return ['push', token ? withToken('config', token) : 'origin', 'HEAD:main'];
        },
        /release manager's config repo|403|could not read Username/,
      );
      await gitRefused(
        `git push (${label}) of a new branch to the config repo`,
        async dir => {
          await cloneAndCommit(dir, 'config', 'policies/svc-00.yaml');
          return ['push', token ? withToken('config', token) : 'origin', 'HEAD:refs/heads/sneaky'];
        },
        /release manager's config repo|403|could not read Username/,
      );
    }
    await gitRefused(
      'git push (platform) deleting the config repo main',
      async dir => {
        await runGit(['clone', '--quiet', `${base}/config.git`, dir]);
        return ['push', withToken('config', mockCredentials.user.token('user:default/pat')), ':main'];
      },
      /release manager's config repo/,
    );
    await gitRefused(
      'git push (anonymous) to a service repo',
      async dir => {
        await cloneAndCommit(dir, 'svc-00', 'anon.txt');
        return ['push', 'origin', 'HEAD:main'];
      },
      /401|could not read Username|Authentication failed/,
    );
    await gitRefused(
      'git push (wrong token) to a service repo shows the reason',
      async dir => {
        await cloneAndCommit(dir, 'svc-00', 'wrong.txt');
        return ['push', withToken('svc-00', 'not-a-token'), 'HEAD:main'];
      },
      /remote: Pushing needs a valid Backstage token/,
    );
    await gitRefused(
      'git push (forged Bearer header) to a service repo',
      async dir => {
        await cloneAndCommit(dir, 'svc-00', 'bearer.txt');
        return ['-c', 'http.extraHeader=Authorization: Bearer forged.jwt.token', 'push', 'origin', 'HEAD:main'];
      },
      // git drops the refused header and asks for a user name it cannot get: refused either way
      /Pushing needs a valid Backstage token|Authentication failed|401|could not read Username/,
    );
    const ownerUrl = withToken('svc-00', mockCredentials.user.token('user:default/alice'));
    await gitRefused(
      'git push --force (owner) rewriting the default branch',
      async dir => {
        await runGit(['clone', '--quiet', ownerUrl, dir]);
        await runGit(['commit', '--quiet', '--amend', '-m', 'rewritten'], { cwd: dir });
        return ['push', '--force', 'origin', 'HEAD:main'];
      },
      /non-fast-forward|rejected/,
    );
    await gitRefused(
      'git push +refspec (platform) rewriting the default branch',
      async dir => {
        await runGit(['clone', '--quiet', withToken('svc-00', mockCredentials.user.token('user:default/pat')), dir]);
        await runGit(['reset', '--quiet', '--hard', 'HEAD'], { cwd: dir });
        await runGit(['commit', '--quiet', '--amend', '-m', 'rewritten by platform'], { cwd: dir });
        return ['push', 'origin', '+HEAD:refs/heads/main'];
      },
      /non-fast-forward|rejected/,
    );
    await gitRefused(
      'git push deleting the default branch (owner)',
      async dir => {
        await runGit(['clone', '--quiet', ownerUrl, dir]);
        return ['push', 'origin', ':main'];
      },
      /refusing to delete the default branch 'main'/,
    );
    await gitRefused(
      'git push deleting the default branch (CI service token)',
      async dir => {
        await runGit(['clone', '--quiet', withToken('svc-00', mockCredentials.service.token()), dir]);
        return ['push', 'origin', ':refs/heads/main'];
      },
      /refusing to delete the default branch 'main'/,
    );
    // control: the authenticated owner's fast-forward push is accepted, the demo still clones
    await check(S, 'control: owner pushes a fast-forward to a service repo; anonymous clone works', async () => {
      const dir = await fs.mkdtemp(path.join(work, 'ok-'));
      await runGit(['clone', '--quiet', ownerUrl, dir]);
      await fs.writeFile(path.join(dir, 'ok.txt'), 'ok');
      await runGit(['add', '.'], { cwd: dir });
      await runGit(['commit', '--quiet', '-m', 'ok'], { cwd: dir });
      await runGit(['push', '--quiet', 'origin', 'HEAD:main'], { cwd: dir });
      const pushed = (await runGit(['rev-parse', 'HEAD'], { cwd: dir })).stdout.trim();
      assert((await svcHead()).includes(`refs/heads/main ${pushed}`), 'push not applied');
      const anon = await fs.mkdtemp(path.join(work, 'anon-'));
      await runGit(['clone', '--quiet', `${base}/config.git`, anon]);
      return `main → ${pushed.slice(0, 10)}`;
    });

    // --- incidents: acknowledge/resolve only by owners, the people on call, platform
    const trigger = async (service: string) => {
      const r = await request(url, 'POST', `/api/oncall/entities/component/default/${service}/incidents`, {
        auth: AUTH.nonOwner,
        body: { description: `boundary test ${service} ${Date.now()}`, severity: 'critical' },
      });
      assert(r.status === 201 || r.status === 200, `trigger: ${r.status} ${errorMessage(r)}`);
      return r.json.incident.id as string;
    };
    const i0 = await trigger('svc-00');
    const i1 = await trigger('svc-01');
    const incidentState = async () =>
      JSON.stringify(await ocDb('oncall_incidents').select('id', 'status').orderBy('id'));
    const incidentSnapshot = standardSnapshot({ configRemote, rmDb, ocDb, extra: async () => ({ incidents: await incidentState() }) });
    const oc = (id: string, action: string) => `/api/oncall/incidents/${id}/${action}`;
    const incidentCases: Case[] = [];
    for (const action of ['acknowledge', 'resolve']) {
      incidentCases.push(
        { name: `incident ${action}: non-owner (lending) on svc-00`, method: 'POST', path: oc(i0, action), auth: AUTH.nonOwner, body: {}, expect: 403 },
        { name: `incident ${action}: the person who triggered it (not owner, not on call)`, method: 'POST', path: oc(i1, action), auth: AUTH.nonOwner, body: {}, expect: 403 },
        { name: `incident ${action}: on call for svc-01 but not for svc-00`, method: 'POST', path: oc(i0, action), auth: OLGA, body: {}, expect: 403 },
        { name: `incident ${action}: service principal`, method: 'POST', path: oc(i0, action), auth: AUTH.service, body: {}, expect: [401, 403] },
        { name: `incident ${action}: anonymous`, method: 'POST', path: oc(i0, action), auth: undefined, body: {}, expect: 401 },
        { name: `incident ${action}: forged resolvedBy/acknowledgedBy in body`, method: 'POST', path: oc(i0, action), auth: AUTH.nonOwner, body: { resolvedBy: 'user:default/alice', acknowledgedBy: 'user:default/alice' }, expect: [400, 403] },
        { name: `incident ${action}: unknown user (not in the catalog)`, method: 'POST', path: oc(i0, action), auth: mockCredentials.user.header('user:default/intruder'), body: {}, expect: 403 },
      );
    }
    await runCases(S, url, incidentCases, incidentSnapshot);
    const allowed = async (name: string, id: string, action: string, auth: string) =>
      check(S, name, async () => {
        const r = await request(url, 'POST', oc(id, action), { auth, body: {} });
        assert(r.status === 200, `${r.status} ${errorMessage(r)}`);
        const inc = r.json.incident;
        return `${inc.status} by ${action === 'resolve' ? inc.resolvedBy : inc.acknowledgedBy}`;
      });
    await allowed('control: on call (olga) acknowledges svc-01', i1, 'acknowledge', OLGA);
    await allowed('control: platform (pat) resolves svc-01', i1, 'resolve', AUTH.platform);
    await allowed('control: owner (alice) resolves svc-00', i0, 'resolve', AUTH.owner);
  } finally {
    await backend.stop();
    await db.drop();
    await fs.rm(dataDir, { recursive: true, force: true });
    await fs.rm(work, { recursive: true, force: true });
  }
}
