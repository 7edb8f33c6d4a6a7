import crypto from 'node:crypto';
import { LoggerService } from '@backstage/backend-plugin-api';
import { LocalGitHost, runGit } from '@devplane/plugin-git-host-node';
import {
  ArtifactSpec,
  artifactIdFor,
  invalidNameReason,
} from '@devplane/plugin-release-manager-common';
import { parse as parseYaml } from 'yaml';
import { Actor, ReleaseManager } from '../service/ReleaseManager';

const SEED_ACTOR: Actor = {
  ref: 'user:default/release-bot',
  email: 'release-bot@devplane.local',
  displayName: 'Release bot (demo seed)',
};

const fakeSha = (seed: string) => crypto.createHash('sha1').update(seed).digest('hex');

/** Replaces the tag of every `image:` in the manifests with `tag`. */
export function renderDemoManifests(files: Record<string, string>, tag: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, text] of Object.entries(files)) {
    out[name] = text.replace(
      /^(\s*-?\s*image:\s*)(["']?)([^\s"'#]+)\2/gm,
      (_m, prefix: string, quote: string, image: string) => {
        const at = image.indexOf('@');
        const ref = at >= 0 ? image.slice(0, at) : image;
        const colon = ref.lastIndexOf(':');
        const base = colon > ref.lastIndexOf('/') ? ref.slice(0, colon) : ref;
        return `${prefix}${quote}${base}:${tag}${quote}`;
      },
    );
  }
  return out;
}

/**
 * Seeds artifacts, policies and releases for every repo on the local git host that has a
 * `shuttle.yaml` and a `k8s/` folder, through the same code paths as the API. Services that
 * already have artifacts are skipped, so it is safe to run on every start.
 */
export async function seedDemo(options: {
  manager: ReleaseManager;
  gitHost: LocalGitHost;
  logger: LoggerService;
}): Promise<string[]> {
  const { manager, gitHost, logger } = options;
  const seeded: string[] = [];
  const envs = manager.environments();
  for (const repo of await gitHost.list()) {
    if (repo.includes('/')) continue;
    let shuttle: any;
    let k8s: Record<string, string>;
    let head: string | undefined;
    try {
      shuttle = parseYaml((await gitHost.readFile(repo, 'shuttle.yaml')).content.toString('utf8'));
      const tree = await gitHost.listTree(repo, 'k8s');
      head = tree.commit;
      k8s = {};
      for (const f of tree.files) {
        if (f.path.includes('/') || !/\.ya?ml$/.test(f.path)) continue;
        k8s[f.path] = (await gitHost.readBlob(repo, f.sha)).toString('utf8');
      }
    } catch {
      continue;
    }
    if (Object.keys(k8s).length === 0) continue;
    const vars = shuttle?.vars ?? {};
    const service = typeof vars.service === 'string' ? vars.service : repo;
    const squad = typeof vars.squad === 'string' ? vars.squad : undefined;
    const namespace =
      (typeof vars.k8s?.namespace === 'string' && vars.k8s.namespace) ||
      (typeof vars.namespace === 'string' && vars.namespace) ||
      squad ||
      'default';
    if (invalidNameReason('service', service) || invalidNameReason('namespace', namespace)) continue;
    if (squad && invalidNameReason('squad', squad)) continue;
    if ((await manager.listArtifacts(service, { limit: 1 })).items.length > 0) continue;
    // Git is the truth: a service the config repo already knows (a release or a policy) was
    // seeded before, even when the database was dropped since. Seeding it again would upload
    // and auto-release on a mere restart.
    if (
      (await manager.state.treeState()).releases.some(r => r.service === service) ||
      (await manager.writer.readFile(`policies/${service}.json`)) !== undefined
    ) {
      continue;
    }

    try {
      const { stdout } = await runGit(['log', '-1', '--format=%an%x00%ae%x00%s', head!], {
        cwd: gitHost.repoPath(repo),
      });
      const [authorName, authorEmail, subject] = stdout.trim().split('\0');
      const planSha = fakeSha('shuttle-plan');
      const hour = 3600_000;
      // Production verifies the claimed branch in the source repo the catalog names: until the
      // catalog has ingested the component, wait (the seed runs again in 30 s) and write nothing.
      const verifiable = await manager.verifyClaimedBranch(service, gitHost.defaultBranch, head!);
      if (!verifiable.allowed) {
        logger.info(`Demo seed of ${service} waits: ${verifiable.reason}`);
        continue;
      }
      // Both main builds are real commits on main: production's branch guardrail verifies the
      // claimed branch in the source repo. A fresh demo repo has one commit; give it a second.
      const cwd = gitHost.repoPath(repo);
      const older = await runGit(['rev-parse', '--verify', '--quiet', `${head}^{commit}`], { cwd })
        .then(r => r.stdout.trim());
      let newer = (await runGit(['rev-parse', '--verify', '--quiet', gitHost.defaultBranch], { cwd })).stdout.trim();
      if (newer === older) {
        newer = await gitHost.commitFiles(repo, {}, {
          message: 'Tune resource limits',
          author: { name: authorName || 'Demo Developer', email: authorEmail || 'developer@devplane.local' },
        });
      }
      const builds = [
        { branch: 'main', sha: older, message: subject || 'Initial version', age: 50 * hour },
        { branch: 'main', sha: newer, message: 'Tune resource limits', age: 26 * hour },
        { branch: 'feature/faster-startup', sha: fakeSha(`${service}-3`), message: 'Try lazy initialisation', age: 3 * hour },
      ];
      const upload = async (b: (typeof builds)[number]) => {
        const spec: ArtifactSpec = {
          id: artifactIdFor(b.branch, b.sha, planSha),
          service,
          namespace,
          ...(squad ? { squad } : {}),
          application: {
            branch: b.branch,
            sha: b.sha,
            authorName: authorName || 'Demo Developer',
            authorEmail: authorEmail || 'developer@devplane.local',
            message: b.message,
            name: repo,
            url: `${gitHost.baseUrl}/${repo}`,
            provider: 'local-git-host',
          },
          ci: {
            start: new Date(Date.now() - b.age).toISOString(),
            end: new Date(Date.now() - b.age + 240_000).toISOString(),
          },
          shuttle: { plan: { ref: 'demo' }, shuttleVersion: '0.21.0' },
          stages: [{ id: 'build', name: 'Build and push image' }],
        };
        const manifests = renderDemoManifests(k8s, b.sha.slice(0, 10));
        return manager.uploadArtifact(
          { spec, manifests: Object.fromEntries(envs.map(e => [e.name, manifests])) },
          { ref: 'ci', email: 'ci@devplane.local' },
        );
      };
      const first = envs[0]?.name;
      if (first) await manager.putAutoRelease(service, 'main', first, SEED_ACTOR);
      const a1 = await upload(builds[0]);
      const a2 = await upload(builds[1]);
      const a3 = await upload(builds[2]);
      // Older main build everywhere (production), newer main build up to the last non-production env.
      // Demo data has no second person: where an environment requires approval (or a freeze
      // window is in force) the seed's initial rollout is recorded as break-glass, flagged.
      for (const env of envs) {
        await manager.release(
          { service, environment: env.name, artifactId: a1.artifact.id, reason: 'Demo — initial rollout' },
          SEED_ACTOR,
          { breakGlass: { reason: 'demo seed: initial rollout of the demo data', permitted: true } },
        );
      }
      for (const env of envs.filter(e => !e.production)) {
        await manager.release(
          { service, environment: env.name, artifactId: a2.artifact.id, reason: 'Demo — next version' },
          SEED_ACTOR,
        );
      }
      if (first) {
        await manager.release(
          { service, environment: first, artifactId: a3.artifact.id, reason: 'Demo — try the feature branch in dev' },
          SEED_ACTOR,
        );
      }
      // No rollout states are invented here: a cluster reports them (the cluster agent, or in the
      // embedded default the simulated cluster, labelled "simulated").
      seeded.push(service);
    } catch (e: any) {
      logger.warn(`Demo seed of ${service} failed: ${e?.message ?? e}`);
    }
  }
  if (seeded.length) logger.info(`Seeded release manager demo data for ${seeded.join(', ')}`);
  return seeded;
}
