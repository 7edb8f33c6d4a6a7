/* eslint-disable no-console */
// End to end through the scaffolder API of a running backend (dev/index.ts by default):
//   node --require @backstage/cli/config/nodeTransform.cjs dev/e2e.ts [baseUrl] [gitRootDir]
// Runs the golden path template three ways: success, release step failing (a pre-receive hook
// on the config repo refuses the prod release commit), bad inputs. Prints a verdict per check.
import fs from 'node:fs/promises';
import path from 'node:path';
import { runGit } from '@devplane/plugin-git-host-node';

const BASE = process.argv[2] ?? 'http://localhost:7117';
const GIT_ROOT = process.argv[3] ?? '/tmp/golden-path-dev/data/git';
let failures = 0;
const check = (ok: boolean, what: string, detail = '') => {
  console.log(`${ok ? 'PASS' : 'FAIL'} ${what}${detail ? ` — ${detail}` : ''}`);
  if (!ok) failures++;
};

async function token() {
  const res = await fetch(`${BASE}/api/auth/guest/refresh`, {
    headers: { 'x-requested-with': 'XMLHttpRequest' },
  });
  return (await res.json()).backstageIdentity.token as string;
}

async function api(tok: string, method: string, p: string, body?: unknown) {
  const res = await fetch(`${BASE}${p}`, {
    method,
    headers: {
      authorization: `Bearer ${tok}`,
      ...(body ? { 'content-type': 'application/json' } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

async function runTask(tok: string, values: Record<string, string>) {
  const started = performance.now();
  const created = await api(tok, 'POST', '/api/scaffolder/v2/tasks', {
    templateRef: 'template:default/golden-path',
    values,
  });
  if (created.status !== 201)
    return { created, ms: performance.now() - started };
  const id = created.body.id;
  for (;;) {
    const t = await api(tok, 'GET', `/api/scaffolder/v2/tasks/${id}`);
    if (['completed', 'failed', 'cancelled'].includes(t.body.status)) {
      const ms = performance.now() - started;
      const events = await api(
        tok,
        'GET',
        `/api/scaffolder/v2/tasks/${id}/events`,
      );
      const log = (events.body as any[])
        .filter(e => e.type === 'log')
        .map(e => `${e.body.stepId ?? ''}: ${e.body.message}`);
      const completion = (events.body as any[]).find(
        e => e.type === 'completion',
      );
      return {
        created,
        status: t.body.status,
        ms,
        log,
        output: completion?.body?.output,
        id,
      };
    }
    await new Promise(r => setTimeout(r, 200));
  }
}

async function waitFor<T>(fn: () => Promise<T | undefined>, ms: number) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v || Date.now() > end) return v;
    await new Promise(r => setTimeout(r, 500));
  }
}

async function main() {
  const tok = await token();
  const tpl = await api(
    tok,
    'GET',
    '/api/catalog/entities/by-name/template/default/golden-path',
  );
  check(tpl.status === 200, 'template is in the catalog');
  await waitFor(async () => {
    const g = await api(
      tok,
      'GET',
      '/api/catalog/entities/by-name/group/default/payments',
    );
    return g.status === 200 ? true : undefined;
  }, 60_000);

  // 1. success
  const name = `e2e-${Date.now().toString(36)}`;
  const ok = await runTask(tok, {
    name,
    squad: 'group:default/payments',
    description: 'End-to-end golden path',
    kind: 'node',
    system: 'system:default/banking-core',
  });
  check(
    ok.status === 'completed',
    `task completed (${ok.ms.toFixed(0)} ms submit → done)`,
    ok.status === 'completed' ? '' : ok.log?.slice(-8).join('\n'),
  );
  console.log(`BENCH form submit → production release: ${ok.ms.toFixed(0)} ms`);
  const repoDir = path.join(GIT_ROOT, `${name}.git`);
  const tree = (
    await runGit(['ls-tree', '-r', '--name-only', 'main'], {
      cwd: repoDir,
    }).catch(() => ({ stdout: '' }))
  ).stdout;
  for (const f of [
    'package.json',
    'shuttle.yaml',
    'catalog-info.yaml',
    'k8s/prod/deployment.yaml',
    'k8s/dev/service.yaml',
    'docs/index.md',
    'mkdocs.yml',
    '.github/workflows/ci.yaml',
    'ci/pipeline.sh',
  ]) {
    check(tree.split('\n').includes(f), `repo has ${f}`);
  }
  const entity = await waitFor(async () => {
    const e = await api(
      tok,
      'GET',
      `/api/catalog/entities/by-name/component/default/${name}`,
    );
    return e.status === 200 && e.body.spec?.owner ? e.body : undefined;
  }, 30_000);
  check(
    !!entity && /payments$/.test(entity.spec.owner),
    'catalog entity owned by the squad',
    JSON.stringify(entity?.spec),
  );
  const configDir = path.join(GIT_ROOT, 'config.git');
  const msg = (
    await runGit(['log', '-1', '--format=%B', 'main'], { cwd: configDir })
  ).stdout;
  check(
    msg.startsWith(`[prod/${name}] auto release main-`),
    'config repo head is the prod release',
    msg.split('\n')[0],
  );
  for (const t of [
    'Service:',
    'Environment: prod',
    'Artifact-ID: main-',
    'Artifact-released-by: guest@example.com',
    'Release-intent: auto-release',
    'Auto-release-policy-by: guest@example.com',
  ]) {
    check(msg.includes(t), `release commit has trailer ${t}`);
  }
  check(
    ok.output?.links?.length === 3,
    'result page links repo, entity and release',
    JSON.stringify(ok.output?.links),
  );
  for (const step of [
    'Checking name',
    'Creating repository',
    'Adding the CI pipeline',
    'Registered ',
    'First production deploy of',
    'Push received by the release manager',
    'Released to prod',
  ]) {
    check(
      (ok.log ?? []).some(l => l.includes(step)),
      `task log shows "${step}"`,
    );
  }

  // 2. the release step fails: the config repo refuses the prod release commit
  const bad = `e2e-fail-${Date.now().toString(36)}`;
  const hook = path.join(configDir, 'hooks', 'pre-receive');
  await fs.writeFile(
    hook,
    `#!/bin/sh\nwhile read old new ref; do\n  if git log --format=%s "$old..$new" 2>/dev/null | grep -q '^\\[prod/${bad}\\]'; then echo "prod releases of ${bad} are frozen" >&2; exit 1; fi\ndone\nexit 0\n`,
    { mode: 0o755 },
  );
  try {
    const failed = await runTask(tok, {
      name: bad,
      squad: 'group:default/payments',
      description: 'Fails in the release step',
      kind: 'go',
      system: 'system:default/banking-core',
    });
    check(failed.status === 'failed', 'task failed');
    const text = (failed.log ?? []).join('\n');
    check(
      /First production deploy failed while releasing/.test(text),
      'task log names the failing step',
      (failed.log ?? []).filter(l => /fail|Rollback/i.test(l)).join(' | '),
    );
    check(
      !(await fs.stat(path.join(GIT_ROOT, `${bad}.git`)).then(
        () => true,
        () => false,
      )),
      'repo was deleted',
    );
    const pol = await api(
      tok,
      'GET',
      `/api/release-manager/services/${bad}/policies`,
    );
    check(
      pol.body?.autoReleases?.length === 0,
      'auto-release policy was deleted',
      JSON.stringify(pol.body),
    );
    const gone = await waitFor(async () => {
      const e = await api(
        tok,
        'GET',
        `/api/catalog/entities/by-name/component/default/${bad}`,
      );
      return e.status === 404 ? true : undefined;
    }, 30_000);
    check(!!gone, 'catalog entity was removed with its location');
  } finally {
    await fs.rm(hook, { force: true });
  }

  // 3. bad inputs: nothing created
  const before = (await fs.readdir(GIT_ROOT)).sort().join(',');
  const pattern = await api(tok, 'POST', '/api/scaffolder/v2/tasks', {
    templateRef: 'template:default/golden-path',
    values: {
      name: '../Evil',
      squad: 'group:default/payments',
      description: 'x',
      kind: 'node',
      system: 'system:default/banking-core',
    },
  });
  check(
    pattern.status === 400,
    'path-like/uppercase name refused by the form schema',
    `${pattern.status} ${JSON.stringify(pattern.body).slice(0, 200)}`,
  );
  for (const [values, expect] of [
    [
      { name, squad: 'group:default/payments' },
      /already in the catalog|repository with that name exists/,
    ],
    [
      { name: 'config', squad: 'group:default/payments' },
      /repository with that name exists/,
    ],
    [
      { name: 'fresh-name', squad: 'group:default/nope' },
      /Squad 'nope' is not a Group/,
    ],
  ] as const) {
    const r = await runTask(tok, {
      description: 'x',
      kind: 'node',
      system: 'system:default/banking-core',
      ...values,
    });
    const text = (r.log ?? []).join('\n');
    check(
      r.status === 'failed' && expect.test(text),
      `refused ${JSON.stringify(values)}`,
      (r.log ?? [])
        .filter(l => l.startsWith('validate'))
        .slice(-2)
        .join(' | '),
    );
  }
  check(
    (await fs.readdir(GIT_ROOT)).sort().join(',') === before,
    'bad inputs created no repository',
  );
  console.log(failures === 0 ? 'ALL PASSED' : `${failures} FAILED`);
  process.exitCode = failures ? 1 : 0;
}

main().catch(e => {
  console.error(e);
  process.exitCode = 1;
});
