// Adversarial history: commits written straight into the config repo's bare repository (filesystem
// access, no git host, no hooks) that try to pass as releases — unsigned, signed by another key,
// our signature replayed onto another tree, messages that fake NUL record boundaries or trailers,
// merges — and the release manager's answer: never a release, "changed outside the release
// manager", writes refused (409) until platform reverts or adopts, index rebuilt without them.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runGit } from '@devplane/plugin-git-host-node';
import { OpenPgpCommitSigner, stopGpgAgent } from '../../plugins/release-manager-backend/src/git/Signer';
import { AUTH, Case, runCases, standardSnapshot } from '../lib/adversarial';
import { startBackend } from '../lib/backend';
import { upload } from '../lib/fixtures';
import { assert, check, errorMessage, freshDatabase, gitOut, request, sleep } from '../lib/harness';

const RM = '/api/release-manager';

/** Writes a commit into the bare repo with plumbing; returns its id (the branch moves to it). */
async function plumbCommit(
  remote: string,
  opts: {
    files?: Record<string, string | null>;
    message: string;
    parents?: string[];
    who?: { name: string; email: string };
    /** Turns the unsigned raw commit into the object to write (e.g. sign it with another key). */
    transform?: (raw: Buffer) => Buffer;
    /** Write with `hash-object --literally` (messages git itself would not make). */
    literally?: boolean;
    /** Leave the branch where it is. */
    noUpdate?: boolean;
  },
): Promise<string> {
  const idx = path.join(await fs.mkdtemp(path.join(os.tmpdir(), 'rel-hist-idx-')), 'index');
  const env = { GIT_INDEX_FILE: idx };
  const parents = opts.parents ?? [(await gitOut(remote, ['rev-parse', 'main'])).trim()];
  await runGit(['read-tree', parents[0]], { cwd: remote, env });
  for (const [file, content] of Object.entries(opts.files ?? {})) {
    if (content === null) await runGit(['update-index', '--force-remove', file], { cwd: remote, env });
    else {
      const blob = (await runGit(['hash-object', '-w', '--stdin'], { cwd: remote, input: content })).stdout.trim();
      await runGit(['update-index', '--add', '--cacheinfo', `100644,${blob},${file}`], { cwd: remote, env });
    }
  }
  const tree = (await runGit(['write-tree'], { cwd: remote, env })).stdout.trim();
  const who = opts.who ?? { name: 'Mallory', email: 'mallory@evil.example' };
  const now = Math.floor(Date.now() / 1000);
  const raw = Buffer.from(
    `tree ${tree}\n${parents.map(p => `parent ${p}\n`).join('')}author ${who.name} <${who.email}> ${now} +0000\ncommitter ${who.name} <${who.email}> ${now} +0000\n\n${opts.message}`,
    'utf8',
  );
  const obj = opts.transform ? opts.transform(raw) : raw;
  const sha = execFileSync('git', ['hash-object', '-t', 'commit', '-w', '--stdin', ...(opts.literally ? ['--literally'] : [])], {
    cwd: remote,
    input: obj,
  })
    .toString()
    .trim();
  if (!opts.noUpdate) await runGit(['update-ref', 'refs/heads/main', sha], { cwd: remote });
  return sha;
}

const releaseTrailers = (service: string, env: string, id: string) =>
  `Service: ${service}\nEnvironment: ${env}\nArtifact-ID: ${id}\nArtifact-released-by: alice@bank.example\nRelease-intent: release\n`;

export default async function adversarialHistory() {
  const S = 'adversarial-history';
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'rel-hist-'));
  const db = await freshDatabase('rel_hist');
  const svc = 'svc-00';
  const { backend, url, sentNotifications } = await startBackend({ dataDir, dbPrefix: db.prefix, services: [svc, 'svc-01'] });
  const rmDb = db.knexFor(`${db.prefix}release-manager`);
  const remote = path.join(dataDir, 'git', 'config.git');
  const snapshot = standardSnapshot({ configRemote: remote, rmDb });
  const get = (p: string, auth = AUTH.owner) => request(url, 'GET', `${RM}${p}`, { auth });
  const post = (p: string, body: unknown, auth = AUTH.owner) => request(url, 'POST', `${RM}${p}`, { auth, body });
  const releaseIds = async () =>
    ((await get(`/services/${svc}/releases?limit=200`)).json?.items ?? []).map((r: any) => r.id as string);
  const pending = async () => {
    await sleep(1100); // the release manager re-fetches the remote at most once a second
    return ((await get('/outside-changes')).json ?? []) as any[];
  };
  const decide = async (decision: 'revert' | 'adopt') => {
    const commits = (await pending()).map(c => c.commit);
    const r = await post('/outside-changes/decision', { decision, commits }, AUTH.platform);
    assert(r.status === 200, `platform ${decision}: ${r.status} ${errorMessage(r)}`);
    return r.json;
  };
  const otherKey = await OpenPgpCommitSigner.fromGnupgHome({ gnupgHome: path.join(dataDir, 'mallory-gnupg'), name: 'Release Manager', email: 'release-manager@devplane.local' });
  try {
    const a1 = upload(svc, 1);
    const a2 = upload(svc, 2);
    for (const a of [a1, a2]) {
      const r = await post('/artifacts', a.body);
      assert(r.status === 201, `setup upload: ${r.status} ${errorMessage(r)}`);
    }
    for (const env of ['dev', 'staging']) {
      const r = await post('/releases', { service: svc, environment: env, artifactId: a1.id });
      assert(r.status === 200, `setup release: ${r.status} ${errorMessage(r)}`);
    }
    /** An artifact that does not run in `env` now (so a release of it writes a commit). */
    const notRunning = async (env: string) => {
      const st = ((await get(`/services/${svc}/status`)).json as any[]).find(s => s.environment === env);
      return st?.artifact?.id === a1.id ? a2.id : a1.id;
    };
    const forgedSpec = JSON.stringify({ ...a1.body.spec, id: 'main-ffffffffff-cccccccccc' }, null, 2);
    const prodFiles = {
      [`prod/releases/payments/${svc}/artifact.json`]: forgedSpec,
      [`prod/releases/payments/${svc}/deployment.yaml`]: 'kind: Deployment\nmetadata:\n  name: miner\n',
    };

    /** One forged commit: it must show as outside (never a release) and block writes until reverted. */
    const forgedCase = async (name: string, make: () => Promise<string>, signature: 'none' | 'bad') => {
      await check(S, name, async () => {
        const sha = await make();
        const out = await pending();
        const hit = out.find(c => c.commit === sha);
        assert(hit, `not reported as outside: ${JSON.stringify(out).slice(0, 200)}`);
        assert(hit.signature === signature, `signature ${hit.signature}, expected ${signature}`);
        assert(!(await releaseIds()).includes(sha), 'recorded as a release');
        const status = (await get(`/services/${svc}/status`)).json as any[];
        const prod = status.find(s => s.environment === 'prod');
        assert(prod?.outsideChanges?.some((c: any) => c.commit === sha), 'env card does not show it');
        assert(prod?.release?.id !== sha, 'status shows it as a release');
        const head = (await gitOut(remote, ['rev-parse', 'main'])).trim();
        const refused = await post('/releases', { service: svc, environment: 'dev', artifactId: a2.id });
        assert(refused.status === 409, `release on top of it: ${refused.status}`);
        assert(/outside the release manager/.test(errorMessage(refused)), `reason: ${errorMessage(refused)}`);
        assert((await gitOut(remote, ['rev-parse', 'main'])).trim() === head, 'HEAD moved');
        const d = await decide('revert');
        assert(d.commits.includes(sha), 'decision does not name it');
        return `outside (signature ${signature}), 409 "${errorMessage(refused).slice(0, 60)}…", reverted by platform`;
      });
    };

    await forgedCase(
      'unsigned commit with release trailers into prod',
      () => plumbCommit(remote, { files: prodFiles, message: `[prod/${svc}] release forged by alice\n\n${releaseTrailers(svc, 'prod', 'main-ffffffffff-cccccccccc')}` }),
      'none',
    );
    await forgedCase(
      'commit signed by another OpenPGP key claiming our user id',
      () =>
        plumbCommit(remote, {
          files: prodFiles,
          message: `[prod/${svc}] release forged\n\n${releaseTrailers(svc, 'prod', 'main-ffffffffff-cccccccccc')}`,
          who: { name: 'Release Manager', email: 'release-manager@devplane.local' },
          transform: raw => otherKey.signCommit(raw),
        }),
      'none',
    );
    await forgedCase(
      "our own signature replayed onto another tree",
      async () => {
        const ours = execFileSync('git', ['cat-file', 'commit', 'main'], { cwd: remote });
        assert(ours.includes('gpgsig '), 'setup: head is not signed');
        const fake = await plumbCommit(remote, { files: prodFiles, message: 'x\n', noUpdate: true });
        const fakeTree = execFileSync('git', ['rev-parse', `${fake}^{tree}`], { cwd: remote }).toString().trim();
        const parent = execFileSync('git', ['rev-parse', 'main'], { cwd: remote }).toString().trim();
        const replay = Buffer.from(
          ours
            .toString('latin1')
            .replace(/^tree [0-9a-f]+\n/, `tree ${fakeTree}\n`)
            .replace(/\nparent [0-9a-f]+\n/, `\nparent ${parent}\n`),
          'latin1',
        );
        const sha = execFileSync('git', ['hash-object', '-t', 'commit', '-w', '--stdin'], { cwd: remote, input: replay }).toString().trim();
        await runGit(['update-ref', 'refs/heads/main', sha], { cwd: remote });
        return sha;
      },
      'bad',
    );
    await forgedCase(
      'policy file rewritten by hand (guardrail removal attempt)',
      () => plumbCommit(remote, { files: { [`policies/${svc}.json`]: '{"service":"svc-00","autoReleases":[{"id":"auto-release-0000000000","branch":".*","environment":"prod"}],"branchRestrictions":[]}\n' }, message: 'loosen policy\n\nPolicy-changed-by: alice@bank.example\n' }),
      'none',
    );
    await forgedCase(
      'merge commit whose second parent changes prod releases',
      async () => {
        const base = (await gitOut(remote, ['rev-parse', 'main'])).trim();
        const side = await plumbCommit(remote, { files: prodFiles, message: 'side\n', noUpdate: true });
        return plumbCommit(remote, { parents: [base, side], files: prodFiles, message: `Merge\n\n${releaseTrailers(svc, 'prod', 'main-ffffffffff-cccccccccc')}` });
      },
      'none',
    );

    // Messages that try to fake record boundaries or trailers, on paths that are not releases:
    // they stay maintenance commits and do not corrupt the records around them.
    const fakeMessages: [string, string][] = [
      ['NUL bytes and a fake record marker', `note\0R${'0'.repeat(24)}deadbeef\0F\n\n${releaseTrailers(svc, 'dev', a2.id)}`],
      ['fake trailer block inside the body', `note\n\nService: ${svc}\nEnvironment: dev\nArtifact-ID: ${a2.id}\n\nreal last paragraph\n`],
      ['duplicate trailer keys', `note\n\n${releaseTrailers(svc, 'dev', a2.id)}Artifact-ID: ${a1.id}\n`],
      ['unit separators and record separators', `note\x1e\x1f\n\n${releaseTrailers(svc, 'dev', a2.id).replace(/\n/g, '\x1f\n')}`],
    ];
    for (const [name, message] of fakeMessages) {
      await check(S, `message with ${name} (docs path only)`, async () => {
        const sha = await plumbCommit(remote, { files: { [`docs/${Date.now()}.md`]: 'x\n' }, message, literally: true });
        await sleep(1100);
        assert(!(await releaseIds()).includes(sha), 'recorded as a release');
        assert((await pending()).length === 0, 'a docs-only commit blocked the repo');
        // The next real release still reads back correctly after it.
        const target = { id: await notRunning('dev') };
        const r = await post('/releases', { service: svc, environment: 'dev', artifactId: target.id });
        assert(r.status === 200, `release after it: ${r.status} ${errorMessage(r)}`);
        const log = (await get(`/services/${svc}/releases?environment=dev&limit=1`)).json.items[0];
        assert(log.id === r.json.release.id && log.artifactId === target.id, `log head ${log.id} ${log.artifactId}`);
        return 'maintenance, next release reads back';
      });
    }

    await check(S, 'release reason that tries to add trailers', async () => {
      const reason = `fine\n\nService: svc-01\nArtifact-ID: main-ffffffffff-cccccccccc`;
      const target = { id: await notRunning('staging') };
      const r = await post('/releases', { service: svc, environment: 'staging', artifactId: target.id, reason });
      if (r.status === 400) return `400 ${errorMessage(r).slice(0, 80)}`;
      assert(r.status === 200, `${r.status} ${errorMessage(r)}`);
      const log = (await get(`/services/${svc}/releases?environment=staging&limit=1`)).json.items[0];
      assert(log.service === svc && log.artifactId === target.id, `recorded as ${log.service}/${log.artifactId}`);
      const other = (await get('/services/svc-01/releases')).json.items;
      assert(other.length === 0, 'svc-01 got a release');
      return 'recorded as the real release, trailers in the reason ignored';
    });

    // While an outside change waits: every write route refuses, and only platform decides.
    const blocker = await plumbCommit(remote, { files: prodFiles, message: 'by hand\n' });
    await pending();
    const cases: Case[] = [
      { name: 'release while an outside change waits', method: 'POST', path: `${RM}/releases`, auth: AUTH.owner, body: { service: svc, environment: 'dev', artifactId: a2.id }, expect: 409 },
      { name: 'promotion while an outside change waits', method: 'POST', path: `${RM}/promotions`, auth: AUTH.owner, body: { service: svc, fromEnvironment: 'dev', toEnvironment: 'staging' }, expect: 409 },
      { name: 'rollback while an outside change waits', method: 'POST', path: `${RM}/rollbacks`, auth: AUTH.owner, body: { service: svc, environment: 'dev', artifactId: a1.id }, expect: 409 },
      { name: 'policy change while an outside change waits', method: 'PUT', path: `${RM}/services/${svc}/policies/auto-releases`, auth: AUTH.owner, body: { branch: 'main', environment: 'dev' }, expect: 409 },
      { name: 'decision by a non-platform user', method: 'POST', path: `${RM}/outside-changes/decision`, auth: AUTH.nonOwner, body: { decision: 'adopt', commits: [blocker] }, expect: 403 },
      { name: 'decision by the service owner (not platform)', method: 'POST', path: `${RM}/outside-changes/decision`, auth: AUTH.owner, body: { decision: 'adopt', commits: [blocker] }, expect: 403 },
      { name: 'decision by a service principal', method: 'POST', path: `${RM}/outside-changes/decision`, auth: AUTH.service, body: { decision: 'adopt', commits: [blocker] }, expect: [401, 403] },
      { name: 'decision naming other commits than the waiting ones', method: 'POST', path: `${RM}/outside-changes/decision`, auth: AUTH.platform, body: { decision: 'adopt', commits: ['0'.repeat(40)] }, expect: 409 },
      { name: 'decision with an unknown verb', method: 'POST', path: `${RM}/outside-changes/decision`, auth: AUTH.platform, body: { decision: 'ignore', commits: [blocker] }, expect: 400 },
      { name: 'decision with a malformed commit id', method: 'POST', path: `${RM}/outside-changes/decision`, auth: AUTH.platform, body: { decision: 'adopt', commits: ['HEAD~1'] }, expect: 400 },
      { name: 'decision with no commits', method: 'POST', path: `${RM}/outside-changes/decision`, auth: AUTH.platform, body: { decision: 'adopt', commits: [] }, expect: 400 },
      { name: 'decision with extra fields', method: 'POST', path: `${RM}/outside-changes/decision`, auth: AUTH.platform, body: { decision: 'adopt', commits: [blocker], decidedBy: 'user:default/ceo' }, expect: 400 },
    ];
    await runCases(S, url, cases, snapshot);
    await check(S, 'platform adopts; the decision is a signed commit naming who decided', async () => {
      const d = await decide('adopt');
      const msg = await gitOut(remote, ['log', '-1', '--format=%B', d.commit]);
      assert(msg.includes(`Outside-change-commit: ${blocker}`) && /Decided-by: \S+/.test(msg), `message: ${msg.slice(0, 200)}`);
      const r = await post('/releases', { service: svc, environment: 'staging', artifactId: await notRunning('staging') });
      assert(r.status === 200, `write after adopt: ${r.status} ${errorMessage(r)}`);
      assert(sentNotifications.some(n => /outside the release manager/.test(n?.payload?.title ?? '')), 'platform not notified');
      return 'adopted, writes resume, platform was notified';
    });

    await check(S, "HEAD verifies with a keyring holding only the served key (Flux's spec.verify, mode HEAD)", async () => {
      const key = await request(url, 'GET', `${RM}/signing-key`, { auth: AUTH.none });
      assert(key.status === 200 && key.text.startsWith('-----BEGIN PGP PUBLIC KEY BLOCK-----'), `signing-key: ${key.status}`);
      const home = await fs.mkdtemp(path.join(os.tmpdir(), 'rel-hist-gpg-'));
      try {
        execFileSync('gpg', ['--homedir', home, '--batch', '--quiet', '--import'], { input: key.text, stdio: 'pipe' });
        execFileSync('git', ['verify-commit', 'main'], { cwd: remote, env: { ...process.env, GNUPGHOME: home }, stdio: 'pipe' });
      } finally {
        await stopGpgAgent(home);
      }
      return 'git verify-commit main: good';
    });

    await check(S, 'index dropped: rebuilt from the verified history, no forged commit becomes a release, nothing written', async () => {
      const before = await releaseIds();
      const head = (await gitOut(remote, ['rev-parse', 'main'])).trim();
      await rmDb('rm_releases').delete();
      await rmDb('rm_sync_state').delete();
      const after = await releaseIds();
      assert(JSON.stringify(after) === JSON.stringify(before), `log differs: ${after.length} vs ${before.length}`);
      assert((await gitOut(remote, ['rev-parse', 'main'])).trim() === head, 'a commit was written');
      return `${after.length} releases, same order, HEAD unchanged`;
    });
  } finally {
    await backend.stop();
    await db.drop();
    await fs.rm(dataDir, { recursive: true, force: true });
  }
}
