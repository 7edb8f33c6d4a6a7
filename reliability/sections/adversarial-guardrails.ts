// Adversarial guardrails: free text that tries to become structure (control characters, trailer
// lines, overlong values) in every free-text field, org guardrails (branches, cluster-scoped
// kinds, foreign namespaces, uploaders) that a service policy tries to widen or remove, an
// upload lying about its branch, a ReDoS regex, the status webhook from the wrong principal,
// auto-release into production without authority, and stale pins. Every case goes through the
// real routes, the real permission policy and the real catalog; each must be a 4xx with a clear
// message and leave the config repo, the database rows and the blobs unchanged.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { mockCredentials } from '@backstage/backend-test-utils';
import { AUTH, Case, runCases, standardSnapshot } from '../lib/adversarial';
import { startBackend } from '../lib/backend';
import { manifest } from '../lib/fixtures';
import { assert, check, errorMessage, freshDatabase, gitOut, request } from '../lib/harness';

const RM = '/api/release-manager';
const EMPTY_TREE = '4b825dc642cb6eb9a060e54bf8d69288fbee4904';
const ENVS = ['dev', 'staging', 'prod'];

/** A real commit on `branch` of the bare repo `dir` (created when missing). */
function commit(dir: string, branch: string, message: string): string {
  const git = (args: string[]) =>
    execFileSync('git', args, {
      cwd: dir,
      encoding: 'utf8',
      env: { ...process.env, GIT_AUTHOR_NAME: 'Dev', GIT_AUTHOR_EMAIL: 'dev@bank.example', GIT_COMMITTER_NAME: 'Dev', GIT_COMMITTER_EMAIL: 'dev@bank.example' },
    }).trim();
  const tip = (ref: string) => {
    try {
      return git(['rev-parse', '--verify', '--quiet', `refs/heads/${ref}`]);
    } catch {
      return '';
    }
  };
  const parent = tip(branch) || tip('main');
  const sha = git(['commit-tree', EMPTY_TREE, ...(parent ? ['-p', parent] : []), '-m', message]);
  git(['update-ref', `refs/heads/${branch}`, sha]);
  return sha;
}

export default async function adversarialGuardrails() {
  const S = 'adversarial-guardrails';
  const dataDir = await fs.mkdtemp(path.join(os.tmpdir(), 'rel-guard-'));
  const db = await freshDatabase('rel_guard');
  const svc = 'svc-00';
  const other = 'svc-01';
  const gitBase = 'http://127.0.0.1:7007/api/git-host/repos';
  const src = (name: string) => ({ 'backstage.io/source-location': `url:${gitBase}/${name}/tree/main/` });
  const { backend, url } = await startBackend({
    dataDir,
    dbPrefix: db.prefix,
    services: [svc, other],
    annotations: { [svc]: src(svc), [other]: src(other) },
    extraConfig: {
      releaseManager: {
        environments: [
          { name: 'dev' },
          { name: 'staging' },
          // verification on (the default), CI principal named, staging open to a second namespace
          { name: 'prod', production: true, guardrails: { uploaders: ['external:test-service'] } },
        ],
        statusWebhook: { principals: ['external:cluster-agent'] },
      },
    },
  });
  const rmDb = db.knexFor(`${db.prefix}release-manager`);
  const remote = path.join(dataDir, 'git', 'config.git');
  const blobCount = async () => Number((await rmDb('rm_blobs').count({ c: '*' }))[0].c);
  const snapshot = standardSnapshot({ configRemote: remote, rmDb, extra: async () => ({ blobs: await blobCount() }) });
  const serviceAs = (subject: string) =>
    mockCredentials.service.header({ onBehalfOf: mockCredentials.service(subject), targetPluginId: 'release-manager' });
  const AGENT = serviceAs('external:cluster-agent');
  const WRONG_AGENT = serviceAs('external:someone-else');
  const CI = AUTH.service;
  try {
    // Source repos with real commits; artifacts built from them.
    const repoDir = (name: string) => path.join(dataDir, 'git', `${name}.git`);
    for (const name of [svc, other]) {
      await fs.mkdir(repoDir(name), { recursive: true });
      execFileSync('git', ['init', '--bare', '--quiet', '--initial-branch=main'], { cwd: repoDir(name) });
    }
    let n = 0;
    const artifact = (opts: { service?: string; branch?: string; claim?: string; sha?: string; files?: Record<string, string>; envs?: string[]; spec?: any } = {}) => {
      const service = opts.service ?? svc;
      const real = opts.branch ?? 'main';
      const sha = opts.sha ?? commit(repoDir(service), real, `build ${++n}`);
      const branch = opts.claim ?? real;
      const id = `${branch.replace(/\//g, '-')}-${sha.slice(0, 10)}-cccccccccc`;
      return {
        id,
        sha,
        body: {
          spec: {
            id,
            service,
            namespace: 'payments',
            squad: 'payments',
            application: { branch, sha, authorName: 'Dev', authorEmail: 'dev@bank.example', message: `build ${n}`, name: service },
            ...(opts.spec ?? {}),
          },
          manifests: Object.fromEntries(
            (opts.envs ?? ENVS).map(e => [e, opts.files ?? { 'deployment.yaml': manifest(service, id) }]),
          ),
        },
      };
    };
    const up = async (a: { body: any }, auth = CI) => request(url, 'POST', `${RM}/artifacts`, { auth, body: a.body });
    const release = (environment: string, artifactId: string, extra: any = {}, auth = AUTH.owner) =>
      request(url, 'POST', `${RM}/releases`, { auth, body: { service: svc, environment, artifactId, ...extra } });

    // Setup: main builds released to dev, staging, prod; a feature build in dev.
    const main1 = artifact();
    const main2 = artifact();
    const feature = artifact({ branch: 'feature/x' });
    for (const a of [main1, main2, feature]) {
      const r = await up(a);
      assert(r.status === 201, `setup upload: ${r.status} ${errorMessage(r)}`);
    }
    for (const [env, a] of [['dev', main1], ['staging', main1], ['prod', main1], ['dev', main2], ['staging', main2]] as const) {
      const r = await release(env, a.id);
      assert(r.status === 200, `setup release ${env}: ${r.status} ${errorMessage(r)}`);
    }

    // --- positive controls: the guardrails let the honest path through --------------------
    await check(S, 'control: an honest main build reaches prod (branch verified in the source repo)', async () => {
      const r = await release('prod', main2.id);
      assert(r.status === 200 && r.json?.changed === true, `${r.status} ${errorMessage(r)}`);
      return `released ${main2.id} to prod`;
    });
    const prodCommit = (await request(url, 'GET', `${RM}/services/${svc}/status`, { auth: AUTH.owner })).json?.find((s: any) => s.environment === 'prod')?.commit;
    await check(S, 'control: status serves the environment commit a pin names', async () => {
      assert(typeof prodCommit === 'string' && /^[0-9a-f]{40}$/.test(prodCommit), `commit: ${prodCommit}`);
      return prodCommit.slice(0, 12);
    });
    await check(S, 'ReDoS: ^(a+)+$ as a branch restriction is evaluated in linear time (RE2)', async () => {
      // a branch git allows; against ^(a+)+$ a backtracking engine explores 2^60 paths
      const evil = `${'a'.repeat(60)}-x`;
      const t0 = Date.now();
      const put = await request(url, 'PUT', `${RM}/services/${other}/policies/branch-restrictions`, {
        auth: AUTH.owner,
        body: { branchRegex: '^(a+)+$', environment: 'staging' },
      });
      assert(put.status === 200, `put: ${put.status} ${errorMessage(put)}`);
      const a = artifact({ service: other, branch: evil });
      const u = await up(a);
      assert(u.status === 201, `upload: ${u.status} ${errorMessage(u)}`);
      const r = await request(url, 'POST', `${RM}/releases`, { auth: AUTH.owner, body: { service: other, environment: 'staging', artifactId: a.id } });
      const ms = Date.now() - t0;
      assert(r.status === 403, `expected 403, got ${r.status}: ${errorMessage(r)}`);
      assert(ms < 5000, `took ${ms} ms`);
      return `refused in ${ms} ms: ${errorMessage(r).slice(0, 60)}`;
    });

    const base = () => artifact({ sha: 'f'.repeat(40) }).body; // never uploaded successfully
    const withSpec = (patch: (spec: any) => void) => {
      const b = base();
      patch(b.spec);
      return b;
    };
    const CONTROL = ['\u0000', '\u0007', '\u001b[31m', '\u007f', '\u0085', '\u2028', '\u202e', '\r'];
    const cases: Case[] = [];

    // --- free text: control characters in every free-text field ------------------------------
    const specFields: Array<[string, (s: any, v: string) => void]> = [
      ['application.authorName', (s, v) => (s.application.authorName = `Eve${v}`)],
      ['application.authorEmail', (s, v) => (s.application.authorEmail = `eve${v}@x`)],
      ['application.committerName', (s, v) => (s.application.committerName = `Eve${v}`)],
      ['application.message', (s, v) => (s.application.message = `fix${v}`)],
      ['application.name', (s, v) => (s.application.name = `app${v}`)],
      ['application.url', (s, v) => (s.application.url = `https://git.example/${v}`)],
      ['ci.jobUrl', (s, v) => (s.ci = { jobUrl: `https://ci.example/${v}` })],
      ['stages.0.name', (s, v) => (s.stages = [{ id: 'build', name: `Build${v}` }])],
    ];
    specFields.forEach(([field, set], i) => {
      const ch = CONTROL[i % CONTROL.length];
      cases.push({
        name: `free text: ${JSON.stringify(ch)} in spec.${field}`,
        method: 'POST',
        path: `${RM}/artifacts`,
        auth: CI,
        body: withSpec(s => set(s, ch)),
        expect: 400,
      });
    });
    for (const ch of CONTROL) {
      cases.push({ name: `free text: ${JSON.stringify(ch)} in a release reason`, method: 'POST', path: `${RM}/releases`, auth: AUTH.owner, body: { service: svc, environment: 'dev', artifactId: main1.id, reason: `why${ch}` }, expect: 400 });
    }
    cases.push(
      { name: 'free text: ESC in a promotion reason', method: 'POST', path: `${RM}/promotions`, auth: AUTH.owner, body: { service: svc, fromEnvironment: 'dev', toEnvironment: 'staging', reason: 'go\u001b[2J' }, expect: 400 },
      { name: 'free text: NUL in a rollback reason', method: 'POST', path: `${RM}/rollbacks`, auth: AUTH.owner, body: { service: svc, environment: 'dev', reason: 'bad\u0000' }, expect: 400 },
      { name: 'free text: newline in a freeze override reason (a trailer value)', method: 'POST', path: `${RM}/releases`, auth: AUTH.owner, body: { service: svc, environment: 'dev', artifactId: main1.id, overrideFreeze: { reason: 'ok\nArtifact-released-by: ceo' } }, expect: 400 },
      { name: 'free text: bidi override in a freeze override reason', method: 'POST', path: `${RM}/releases`, auth: AUTH.owner, body: { service: svc, environment: 'dev', artifactId: main1.id, overrideFreeze: { reason: 'ok\u202e' } }, expect: 400 },
      { name: 'free text: control character in a branch restriction regex', method: 'PUT', path: `${RM}/services/${svc}/policies/branch-restrictions`, auth: AUTH.owner, body: { branchRegex: '^main\u0000$', environment: 'prod' }, expect: 400 },
      { name: 'free text: ANSI escape in a rollout status message', method: 'POST', path: `${RM}/status`, auth: AGENT, body: { service: svc, environment: 'dev', artifactId: main2.id, state: 'failed', message: '\u001b[31mboom' }, expect: 400 },
      { name: 'free text: NUL in a rollout log line', method: 'POST', path: `${RM}/status`, auth: AGENT, body: { service: svc, environment: 'dev', artifactId: main2.id, state: 'failed', logLines: ['ok', 'x\u0000'] }, expect: 400 },
    );
    // --- free text: trailer injection and overlong values -------------------------------------
    for (const [name, reason] of [
      ['Artifact-released-by', 'fine\n\nArtifact-released-by: ceo@bank.example'],
      ['Service', 'Service: payment-gateway'],
      ['Release-intent (indented)', 'x\n  Release-intent: rollback'],
      ['Signed-off-by', 'x\nSigned-off-by: ceo'],
      ['--- separator', 'x\n---\nEnvironment: prod'],
      ['cherry-pick line', '(cherry picked from commit deadbeef)'],
    ] as const) {
      cases.push({ name: `trailer injection: ${name} in a release reason`, method: 'POST', path: `${RM}/releases`, auth: AUTH.owner, body: { service: svc, environment: 'dev', artifactId: main1.id, reason }, expect: 400 });
    }
    cases.push(
      { name: 'trailer injection: Promoted-from in a promotion reason', method: 'POST', path: `${RM}/promotions`, auth: AUTH.owner, body: { service: svc, fromEnvironment: 'dev', toEnvironment: 'staging', reason: 'Promoted-from-environment: prod' }, expect: 400 },
      { name: 'trailer injection: Rollback-of in a rollback reason', method: 'POST', path: `${RM}/rollbacks`, auth: AUTH.owner, body: { service: svc, environment: 'dev', reason: 'a\n\nRollback-of-artifact-id: x' }, expect: 400 },
      { name: 'trailer injection: newline + trailer in the author email (Artifact-created-by)', method: 'POST', path: `${RM}/artifacts`, auth: CI, body: withSpec(s => (s.application.authorEmail = 'eve@x\nRelease-intent: rollback')), expect: 400 },
      { name: 'overlong: release reason of 2001 characters', method: 'POST', path: `${RM}/releases`, auth: AUTH.owner, body: { service: svc, environment: 'dev', artifactId: main1.id, reason: 'x'.repeat(2001) }, expect: 400 },
      { name: 'overlong: freeze override reason of 501 characters', method: 'POST', path: `${RM}/releases`, auth: AUTH.owner, body: { service: svc, environment: 'dev', artifactId: main1.id, overrideFreeze: { reason: 'x'.repeat(501) } }, expect: 400 },
      { name: 'overlong: author name of 256 characters', method: 'POST', path: `${RM}/artifacts`, auth: CI, body: withSpec(s => (s.application.authorName = 'x'.repeat(256))), expect: 400 },
      { name: 'overlong: application message of 10001 characters', method: 'POST', path: `${RM}/artifacts`, auth: CI, body: withSpec(s => (s.application.message = 'x'.repeat(10_001))), expect: 400 },
      { name: 'not a URL: javascript: scheme as application.url', method: 'POST', path: `${RM}/artifacts`, auth: CI, body: withSpec(s => (s.application.url = ['javascript', 'alert(1)'].join(':'))), expect: 400 },
      { name: 'not a URL: data: scheme as ci.jobUrl', method: 'POST', path: `${RM}/artifacts`, auth: CI, body: withSpec(s => (s.ci = { jobUrl: 'data:text/html,<script>' })), expect: 400 },
    );

    // --- manifests: cluster-scoped kinds, foreign namespaces, indirection -----------------------
    const kindCase = (label: string, yaml: string) =>
      cases.push({ name: `manifests: ${label}`, method: 'POST', path: `${RM}/artifacts`, auth: CI, body: { ...base(), manifests: { dev: { 'deployment.yaml': yaml } } }, expect: 400 });
    for (const kind of ['Namespace', 'ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition', 'ValidatingWebhookConfiguration', 'MutatingWebhookConfiguration', 'PersistentVolume', 'StorageClass', 'PriorityClass', 'ClusterIssuer']) {
      kindCase(`cluster-scoped ${kind}`, `apiVersion: v1\nkind: ${kind}\nmetadata:\n  name: x\n`);
    }
    kindCase('ClusterRoleBinding hidden in a List', 'apiVersion: v1\nkind: List\nitems:\n  - apiVersion: rbac.authorization.k8s.io/v1\n    kind: ClusterRoleBinding\n    metadata:\n      name: pwn\n');
    kindCase('ClusterRole as the second YAML document', `${manifest(svc, 'x')}---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata:\n  name: pwn\n`);
    kindCase("Deployment in namespace kube-system", 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: x\n  namespace: kube-system\n');
    kindCase("Secret in another team's namespace (lending)", 'apiVersion: v1\nkind: Secret\nmetadata:\n  name: x\n  namespace: lending\n');
    kindCase('RoleBinding in flux-system', 'apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  name: x\n  namespace: flux-system\n');
    kindCase('a Flux Kustomization pulling in other content', 'apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: x\n');
    kindCase('a Flux GitRepository source', 'apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: x\n');
    kindCase('a kustomization.yaml without kind (kustomize would read it)', 'resources:\n  - ../../../prod/releases/lending/loan-engine\n');
    kindCase('a YAML document that is not an object', '- just\n- a list\n');
    cases.push({ name: 'manifests: JSON ClusterRole', method: 'POST', path: `${RM}/artifacts`, auth: CI, body: { ...base(), manifests: { dev: { 'role.json': '{"apiVersion":"v1","kind":"ClusterRole","metadata":{"name":"x"}}' } } }, expect: 400 });

    // --- uploaders: non-owners and unknown principals ------------------------------------------
    cases.push(
      { name: 'uploader: a non-owner (lending) uploads prod manifests for a payments service', method: 'POST', path: `${RM}/artifacts`, auth: AUTH.nonOwner, body: base(), expect: 403 },
      { name: 'uploader: an unlisted service principal uploads prod manifests', method: 'POST', path: `${RM}/artifacts`, auth: WRONG_AGENT, body: base(), expect: 403 },
      { name: 'uploader: anonymous upload', method: 'POST', path: `${RM}/artifacts`, auth: AUTH.none, body: base(), expect: 401 },
    );

    // --- branches: guardrail, lying upload, widening and removal ----------------------------
    const liar = artifact({ branch: 'feature/evil', claim: 'main' }); // commit only on feature/evil, claims main
    const liarUp = await up(liar);
    await check(S, 'lying branch: the upload itself is accepted as data (no release yet)', async () => {
      assert(liarUp.status === 201, `${liarUp.status} ${errorMessage(liarUp)}`);
      return liar.id;
    });
    const ghost = artifact({ sha: 'a'.repeat(40) }); // a commit that exists nowhere
    await up(ghost);
    const foreign = artifact({ service: other }); // on main of the OTHER service's repo
    const foreignClaim = artifact({ sha: foreign.sha }); // svc-00 claims svc-01's commit
    await up(foreignClaim);
    cases.push(
      { name: 'lying branch: release to prod of a commit not on main', method: 'POST', path: `${RM}/releases`, auth: AUTH.owner, body: { service: svc, environment: 'prod', artifactId: liar.id }, expect: 403 },
      { name: 'lying branch: a commit that exists in no repository', method: 'POST', path: `${RM}/releases`, auth: AUTH.owner, body: { service: svc, environment: 'prod', artifactId: ghost.id }, expect: 403 },
      { name: "lying branch: another service's main commit claimed as this service's", method: 'POST', path: `${RM}/releases`, auth: AUTH.owner, body: { service: svc, environment: 'prod', artifactId: foreignClaim.id }, expect: 403 },
      { name: 'lying branch: roll prod back to the lying artifact', method: 'POST', path: `${RM}/rollbacks`, auth: AUTH.owner, body: { service: svc, environment: 'prod', artifactId: liar.id }, expect: 403 },
      { name: 'guardrail: a feature branch to prod', method: 'POST', path: `${RM}/releases`, auth: AUTH.owner, body: { service: svc, environment: 'prod', artifactId: feature.id }, expect: 403 },
      { name: 'guardrail: platform admin cannot take a feature branch to prod either', method: 'POST', path: `${RM}/releases`, auth: AUTH.platform, body: { service: svc, environment: 'prod', artifactId: feature.id }, expect: 403 },
      { name: 'guardrail: auto-release of a feature branch into prod', method: 'PUT', path: `${RM}/services/${svc}/policies/auto-releases`, auth: AUTH.owner, body: { branch: 'feature/x', environment: 'prod' }, expect: 409 },
      { name: 'guardrail: a backreference regex (not RE2) as a restriction', method: 'PUT', path: `${RM}/services/${svc}/policies/branch-restrictions`, auth: AUTH.owner, body: { branchRegex: '^(a)\\1$', environment: 'prod' }, expect: 400 },
      { name: 'guardrail: a lookahead regex (not RE2) as a restriction', method: 'PUT', path: `${RM}/services/${svc}/policies/branch-restrictions`, auth: AUTH.owner, body: { branchRegex: '^(?!main).*$', environment: 'prod' }, expect: 400 },
      { name: 'guardrail: a regex longer than 200 characters', method: 'PUT', path: `${RM}/services/${svc}/policies/branch-restrictions`, auth: AUTH.owner, body: { branchRegex: `^(${'a|'.repeat(110)}b)$`, environment: 'prod' }, expect: 400 },
      { name: 'non-owner: widen the prod restriction', method: 'PUT', path: `${RM}/services/${svc}/policies/branch-restrictions`, auth: AUTH.nonOwner, body: { branchRegex: '.*', environment: 'prod' }, expect: 403 },
      { name: 'non-owner: set an auto-release into prod', method: 'PUT', path: `${RM}/services/${svc}/policies/auto-releases`, auth: AUTH.nonOwner, body: { branch: 'main', environment: 'prod' }, expect: 403 },
      { name: 'non-owner: release main to prod', method: 'POST', path: `${RM}/releases`, auth: AUTH.nonOwner, body: { service: svc, environment: 'prod', artifactId: main1.id }, expect: 403 },
      { name: 'non-owner: promote staging to prod', method: 'POST', path: `${RM}/promotions`, auth: AUTH.nonOwner, body: { service: svc, fromEnvironment: 'staging', toEnvironment: 'prod' }, expect: 403 },
      { name: 'service principal: release to prod (people only)', method: 'POST', path: `${RM}/releases`, auth: CI, body: { service: svc, environment: 'prod', artifactId: main1.id }, expect: 403 },
    );

    // --- status webhook: only configured agent principals ---------------------------------------
    const report = { service: svc, environment: 'dev', artifactId: main2.id, state: 'succeeded' };
    cases.push(
      { name: 'status webhook: an unlisted service principal', method: 'POST', path: `${RM}/status`, auth: WRONG_AGENT, body: report, expect: 403 },
      { name: 'status webhook: the CI principal (not an agent)', method: 'POST', path: `${RM}/status`, auth: CI, body: report, expect: 403 },
      { name: 'status webhook: a user (owner)', method: 'POST', path: `${RM}/status`, auth: AUTH.owner, body: report, expect: [401, 403] },
      { name: 'status webhook: a platform admin user', method: 'POST', path: `${RM}/status`, auth: AUTH.platform, body: report, expect: [401, 403] },
      { name: 'status webhook: anonymous', method: 'POST', path: `${RM}/status`, auth: AUTH.none, body: report, expect: 401 },
    );

    // --- stale pins: what the user saw moved ------------------------------------------------------
    const stagingCommit = (await request(url, 'GET', `${RM}/services/${svc}/status`, { auth: AUTH.owner })).json?.find((s: any) => s.environment === 'staging')?.commit;
    cases.push(
      { name: 'stale pin: promote staging→prod naming an artifact staging no longer runs', method: 'POST', path: `${RM}/promotions`, auth: AUTH.owner, body: { service: svc, fromEnvironment: 'staging', toEnvironment: 'prod', pin: { artifactId: main1.id, environmentCommit: prodCommit } }, expect: 409 },
      { name: 'stale pin: release to prod with an old environment commit', method: 'POST', path: `${RM}/releases`, auth: AUTH.owner, body: { service: svc, environment: 'prod', artifactId: main1.id, pin: { artifactId: main1.id, environmentCommit: 'e'.repeat(40) } }, expect: 409 },
      { name: 'stale pin: release to prod pinned as "nothing ran there"', method: 'POST', path: `${RM}/releases`, auth: AUTH.owner, body: { service: svc, environment: 'prod', artifactId: main1.id, pin: { environmentCommit: '' } }, expect: 409 },
      { name: 'stale pin: the pinned artifact is not the one in the request', method: 'POST', path: `${RM}/releases`, auth: AUTH.owner, body: { service: svc, environment: 'staging', artifactId: main1.id, pin: { artifactId: main2.id, environmentCommit: stagingCommit } }, expect: 409 },
      { name: 'stale pin: rollback of prod with an old environment commit', method: 'POST', path: `${RM}/rollbacks`, auth: AUTH.owner, body: { service: svc, environment: 'prod', artifactId: main1.id, pin: { artifactId: main1.id, environmentCommit: 'e'.repeat(40) } }, expect: 409 },
      { name: 'pin: an abbreviated commit is refused as input', method: 'POST', path: `${RM}/releases`, auth: AUTH.owner, body: { service: svc, environment: 'prod', artifactId: main1.id, pin: { environmentCommit: 'abc123' } }, expect: 400 },
      { name: 'pin: unknown fields in a pin', method: 'POST', path: `${RM}/releases`, auth: AUTH.owner, body: { service: svc, environment: 'prod', artifactId: main1.id, pin: { head: 'x' } }, expect: 400 },
    );

    await runCases(S, url, cases, snapshot);

    // --- guardrail removal: deleting the service's prod restriction does not open prod ---------
    await check(S, 'guardrail removal: after deleting the service prod restriction, a feature branch still cannot reach prod (nothing written)', async () => {
      const pol = await request(url, 'GET', `${RM}/services/${svc}/policies`, { auth: AUTH.owner });
      const prodRule = pol.json?.branchRestrictions?.find((p: any) => p.environment === 'prod');
      assert(prodRule, 'no default prod restriction to delete');
      const del = await request(url, 'DELETE', `${RM}/services/${svc}/policies/${prodRule.id}`, { auth: AUTH.owner });
      assert(del.status === 200, `delete: ${del.status} ${errorMessage(del)}`);
      const before = await snapshot();
      const r = await release('prod', feature.id);
      const after = await snapshot();
      assert(r.status === 403, `expected 403, got ${r.status}`);
      assert(/organisation guardrail/.test(errorMessage(r)), `message: ${errorMessage(r)}`);
      assert(JSON.stringify(before) === JSON.stringify(after), 'written despite refusal');
      const guard = (await request(url, 'GET', `${RM}/services/${svc}/policies`, { auth: AUTH.owner })).json?.guardrails?.find((g: any) => g.environment === 'prod');
      assert(guard?.allowedBranches === '^(master|main)$', `guardrail served: ${JSON.stringify(guard)}`);
      return errorMessage(r).slice(0, 90);
    });
    await check(S, 'guardrail widening: a ".*" prod restriction set by the owner still leaves the guardrail in force', async () => {
      const put = await request(url, 'PUT', `${RM}/services/${svc}/policies/branch-restrictions`, { auth: AUTH.owner, body: { branchRegex: '.*', environment: 'prod' } });
      assert(put.status === 200, `put: ${put.status} ${errorMessage(put)}`);
      const before = await snapshot();
      const r = await release('prod', feature.id);
      assert(r.status === 403, `expected 403, got ${r.status}`);
      assert(JSON.stringify(before) === JSON.stringify(await snapshot()), 'written despite refusal');
      return errorMessage(r).slice(0, 90);
    });

    // --- auto-release into production carries a person's authority ------------------------------
    await check(S, 'auto-release: an upload triggering a prod policy names the policy author and the uploader', async () => {
      const put = await request(url, 'PUT', `${RM}/services/${svc}/policies/auto-releases`, { auth: AUTH.owner, body: { branch: 'main', environment: 'prod' } });
      assert(put.status === 200, `put: ${put.status} ${errorMessage(put)}`);
      assert(put.json?.autoReleases?.find((p: any) => p.environment === 'prod')?.setBy === 'alice@bank.example', 'policy records no author');
      const a = artifact();
      const r = await up(a);
      assert(r.status === 201, `upload: ${r.status} ${errorMessage(r)}`);
      const rel = r.json?.autoReleases?.find((x: any) => x.release?.environment === 'prod');
      assert(rel, `no prod auto-release: ${JSON.stringify(r.json?.autoReleases)}`);
      const msg = await gitOut(remote, ['log', '-1', '--format=%B', rel.release.id]);
      assert(/\nAuto-release-policy-by: alice@bank\.example\n/.test(msg), `trailers: ${msg}`);
      assert(/\nArtifact-uploaded-by: external:test-service\n/.test(msg), `trailers: ${msg}`);
      return 'Auto-release-policy-by + Artifact-uploaded-by';
    });
    await check(S, 'auto-release: a lying upload matching the prod policy is not released to prod (nothing written to prod)', async () => {
      const lie = artifact({ branch: 'feature/sneaky', claim: 'main' });
      const prodBefore = (await gitOut(remote, ['log', '-1', '--format=%H', 'main', '--', 'prod/'])).trim();
      const r = await up(lie);
      assert(r.status === 201, `upload: ${r.status} ${errorMessage(r)}`);
      const prodAuto = r.json?.autoReleases?.find((x: any) => /prod/.test(x.message ?? '') || x.release?.environment === 'prod');
      assert(!prodAuto?.release, `released to prod: ${JSON.stringify(prodAuto)}`);
      const prodAfter = (await gitOut(remote, ['log', '-1', '--format=%H', 'main', '--', 'prod/'])).trim();
      assert(prodAfter === prodBefore, 'prod changed');
      return (prodAuto?.message ?? 'no prod auto-release').slice(0, 90);
    });
    await check(S, 'status webhook: the configured agent principal is accepted (control)', async () => {
      const r = await request(url, 'POST', `${RM}/status`, { auth: AGENT, body: report });
      assert(r.status === 204, `${r.status} ${errorMessage(r)}`);
      return '204';
    });
  } finally {
    await backend.stop();
    await db.drop();
    await fs.rm(dataDir, { recursive: true, force: true });
  }
}
