// Generates a large config repo with a long history fast, as the release manager itself would
// have written it: every history commit is a release commit (title and trailers from the real
// `releaseCommitMessage`, artifact.json from the real upload schema, the service's manifests),
// signed in process with the bench's key (git/openpgp.ts via OpenPgpCommitSigner), committed as
// `Release Manager <release-manager@devplane.local>`. The seed (every service in every
// environment) is one signed commit. How: one `git fast-import` run builds every tree and blob
// (with deltas) and unsigned draft commits; the drafts are then re-created one by one with their
// parent pointing at the signed predecessor and a `gpgsig` header (exactly what GitOpsWriter's
// signChain does after its own fast-import), written as one pack (`git index-pack --stdin`), and
// a `git repack -a -d` drops the drafts.
import { spawn } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import zlib from 'node:zlib';
import { performance } from 'node:perf_hooks';
import { runGit } from '@devplane/plugin-git-host-node';
import type { ArtifactSpec } from '@devplane/plugin-release-manager-common';
import { deploymentYaml } from '../../plugins/release-manager-backend/src/bench/promotionBench';
import { DEFAULT_ENVIRONMENTS } from '../../plugins/release-manager-backend/src/config';
import { releaseCommitMessage } from '../../plugins/release-manager-backend/src/git/commitMessage';
import { packEntryHeader } from '../../plugins/release-manager-backend/src/git/objects';
import type { CommitSigner } from '../../plugins/release-manager-backend/src/git/Signer';
import { artifactSpecSchema, parseBody } from '../../plugins/release-manager-backend/src/service/schemas';

export const COMMITTER = { name: 'Release Manager', email: 'release-manager@devplane.local' };

export interface BenchService {
  name: string;
  namespace: string;
}

/** `services` services spread over namespaces of 100 (team-00, team-01, ...). */
export function benchServices(count: number): BenchService[] {
  return Array.from({ length: count }, (_, i) => ({
    name: `svc-${String(i).padStart(5, '0')}`,
    namespace: `team-${String(Math.floor(i / 100)).padStart(2, '0')}`,
  }));
}

/** The upload a CI build `n` of `svc` makes (same manifests for every environment). */
export function benchUpload(svc: BenchService, n: number) {
  const sha = n.toString(16).padStart(10, '0').padEnd(40, 'c');
  const spec = parseBody(artifactSpecSchema, {
    id: `main-${sha.slice(0, 10)}-bbbbbbbbbb`,
    service: svc.name,
    namespace: svc.namespace,
    application: {
      branch: 'main',
      sha,
      authorName: 'Dev',
      authorEmail: 'dev@bench.local',
      message: `build ${n}`,
      name: svc.name,
    },
  }) as ArtifactSpec;
  const manifests = { 'deployment.yaml': deploymentYaml(svc.name, svc.namespace, sha.slice(0, 10)) };
  return {
    spec,
    manifests: Object.fromEntries(DEFAULT_ENVIRONMENTS.map(e => [e.name, manifests])) as Record<
      string,
      Record<string, string>
    >,
  };
}

/** artifact.json as ReleaseService writes it. */
export const artifactJson = (spec: unknown) => `${JSON.stringify(spec, null, 2)}\n`;

function gitPipe(cwd: string, args: string[], input: Buffer | AsyncIterable<Buffer>): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, { cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', d => out.push(d));
    child.stderr.on('data', d => err.push(d));
    child.on('error', reject);
    child.on('close', code =>
      code === 0
        ? resolve(Buffer.concat(out))
        : reject(new Error(`git ${args[0]} failed (${code}): ${Buffer.concat(err).toString().slice(0, 400)}`)),
    );
    child.stdin.on('error', reject);
    (async () => {
      if (Buffer.isBuffer(input)) {
        child.stdin.end(input);
        return;
      }
      for await (const chunk of input) {
        if (!child.stdin.write(chunk)) await new Promise(r => child.stdin.once('drain', r));
      }
      child.stdin.end();
    })().catch(reject);
  });
}

export interface GeneratedRepo {
  /** Bare repository (the remote). */
  remote: string;
  services: BenchService[];
  /** History commits after the seed. */
  commits: number;
  head: string;
  seconds: number;
}

/**
 * A bare config repo at `dir`: the seed commit (every service × every environment) and `commits`
 * release commits after it, all signed by `signer`. History commit i releases build i of service
 * (i × 7919 mod services) into environment i mod 3 (dev: release, staging/prod: promote).
 */
export async function generateSignedHistory(options: {
  dir: string;
  services: number;
  commits: number;
  signer: CommitSigner;
  log?: (msg: string) => void;
}): Promise<GeneratedRepo> {
  const t0 = performance.now();
  const log = options.log ?? (() => undefined);
  const envs = DEFAULT_ENVIRONMENTS;
  const services = benchServices(options.services);
  const remote = path.join(options.dir, 'config.git');
  await fs.mkdir(options.dir, { recursive: true });
  await runGit(['init', '--quiet', '--bare', '-b', 'main', remote]);

  // 1. Trees, blobs and draft commits with one fast-import.
  const base = Date.parse('2024-01-01T00:00:00Z') / 1000;
  const ident = `${COMMITTER.name} <${COMMITTER.email}>`;
  async function* stream(): AsyncIterable<Buffer> {
    const parts: Buffer[] = [];
    let size = 0;
    const put = (s: string | Buffer) => {
      const b = typeof s === 'string' ? Buffer.from(s, 'utf8') : s;
      parts.push(b);
      size += b.length;
    };
    const data = (s: string) => {
      const b = Buffer.from(s, 'utf8');
      put(`data ${b.length}\n`);
      put(b);
      put('\n');
    };
    const flush = function* () {
      if (size > 1 << 20) {
        yield Buffer.concat(parts.splice(0));
        size = 0;
      }
    };
    put('commit refs/heads/gen\nmark :1\n');
    put(`author ${ident} ${base} +0000\ncommitter ${ident} ${base} +0000\n`);
    data('Seed config repository (bench)\n');
    put('M 100644 inline README.md\n');
    data('# GitOps config repository\n');
    const seedSpec = (svc: BenchService) => ({ ...benchUpload(svc, 0).spec, id: 'main-seed000000-bbbbbbbbbb' });
    for (const env of envs) {
      for (const svc of services) {
        const dir = `${env.name}/releases/${svc.namespace}/${svc.name}`;
        put(`M 100644 inline ${dir}/deployment.yaml\n`);
        data(deploymentYaml(svc.name, svc.namespace, 'seed'));
        put(`M 100644 inline ${dir}/artifact.json\n`);
        data(artifactJson(seedSpec(svc)));
        yield* flush();
      }
    }
    put('\n');
    for (let i = 1; i <= options.commits; i++) {
      const svc = services[(i * 7919) % services.length];
      const env = envs[i % envs.length];
      const up = benchUpload(svc, i);
      const intent = env.name === envs[0].name ? 'release' : 'promote';
      const msg = releaseCommitMessage({
        service: svc.name,
        environment: env.name,
        artifactId: up.spec.id,
        releasedBy: 'alice@bench.local',
        artifactCreatedBy: 'dev@bench.local',
        intent,
        branch: 'main',
        promotedFrom: intent === 'promote' ? envs[(i % envs.length) - 1].name : undefined,
      });
      const when = base + 60 + i * 30;
      put(`commit refs/heads/gen\n`);
      put(`author alice@bench.local <alice@bench.local> ${when} +0000\ncommitter ${ident} ${when} +0000\n`);
      data(msg);
      const dir = `${env.name}/releases/${svc.namespace}/${svc.name}`;
      put(`D ${dir}\n`);
      put(`M 100644 inline ${dir}/deployment.yaml\n`);
      data(up.manifests[env.name]['deployment.yaml']);
      put(`M 100644 inline ${dir}/artifact.json\n`);
      data(artifactJson(up.spec));
      put('\n');
      yield* flush();
    }
    put('done\n');
    yield Buffer.concat(parts);
  }
  await gitPipe(remote, ['fast-import', '--quiet', '--done'], stream());
  log(`fast-import: ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  // 2. Signed commits, re-parented on their signed predecessors, as one pack.
  const drafts = (await runGit(['rev-list', '--reverse', 'refs/heads/gen'], { cwd: remote })).stdout
    .split('\n')
    .filter(Boolean);
  const raws = await gitPipe(remote, ['cat-file', '--batch'], Buffer.from(`${drafts.join('\n')}\n`));
  const hash = crypto.createHash('sha1');
  const header = Buffer.alloc(12);
  header.write('PACK', 0);
  header.writeUInt32BE(2, 4);
  header.writeUInt32BE(drafts.length, 8);
  let head = '';
  const signer = options.signer;
  async function* pack(): AsyncIterable<Buffer> {
    hash.update(header);
    yield header;
    let pos = 0;
    let prevOld: string | undefined;
    let prevNew: string | undefined;
    const batch: Buffer[] = [];
    for (const sha of drafts) {
      const nl = raws.indexOf(0x0a, pos);
      const [got, , size] = raws.subarray(pos, nl).toString('utf8').split(' ');
      if (got !== sha) throw new Error(`cat-file: expected ${sha}, got ${got}`);
      let raw = raws.subarray(nl + 1, nl + 1 + Number(size));
      pos = nl + 1 + Number(size) + 1;
      if (prevOld && prevNew) {
        const text = raw.toString('latin1');
        const fixed = text.replace(`\nparent ${prevOld}\n`, `\nparent ${prevNew}\n`);
        if (fixed === text) throw new Error('unexpected parent in a draft commit');
        raw = Buffer.from(fixed, 'latin1');
      }
      const signed = signer.signCommit(raw);
      prevOld = sha;
      prevNew = crypto
        .createHash('sha1')
        .update(`commit ${signed.length}\0`)
        .update(signed)
        .digest('hex');
      const obj = Buffer.concat([packEntryHeader(1, signed.length), zlib.deflateSync(signed, { level: 1 })]);
      hash.update(obj);
      batch.push(obj);
      if (batch.length >= 1000) yield Buffer.concat(batch.splice(0));
    }
    head = prevNew!;
    if (batch.length) yield Buffer.concat(batch.splice(0));
    yield hash.digest();
  }
  await gitPipe(remote, ['index-pack', '--stdin'], pack());
  await runGit(['update-ref', 'refs/heads/main', head], { cwd: remote });
  await runGit(['update-ref', '-d', 'refs/heads/gen'], { cwd: remote });
  log(`signed ${drafts.length} commits: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  // 3. One pack of what is reachable (the drafts go).
  await runGit(['repack', '-a', '-d', '-q'], { cwd: remote });
  await runGit(['prune', '--expire=now'], { cwd: remote });
  log(`repacked: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return {
    remote,
    services,
    commits: options.commits,
    head,
    seconds: (performance.now() - t0) / 1000,
  };
}
