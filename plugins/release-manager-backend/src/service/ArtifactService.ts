import { ConflictError, NotFoundError } from '@backstage/errors';
import {
  invalidArtifactIdReason,
  invalidNameReason,
} from '@devplane/plugin-release-manager-common';
import type { Artifact, ArtifactUpload, ReleaseResult } from '@devplane/plugin-release-manager-common';
import { Actor, ReleaseManagerPart } from './context';
import type { PolicyService } from './PolicyService';
import { NotAllowedError } from '@backstage/errors';
import { autoReleasePolicies, invalidBranchReason } from './policies';
import type { ReleaseService } from './ReleaseService';
import { check, validateUpload } from './uploadValidation';
import { annotateManifests } from '../push/annotate';

/** Artifacts: upload (validated, then the auto-releases it triggers), lookup, listing, manifests. */
export class ArtifactService extends ReleaseManagerPart {
  /** Set by {@link ReleaseManager} once every part exists. */
  policies!: PolicyService;
  releases!: ReleaseService;

  manifestKey(service: string, artifactId: string) {
    return `manifests/${service}/${artifactId}.json`;
  }

  async manifestsOf(artifact: Artifact): Promise<Record<string, Record<string, string>>> {
    const buf = await this.blobs.get(this.manifestKey(artifact.service, artifact.id));
    if (!buf) throw new NotFoundError(`Manifests of artifact '${artifact.id}' are missing`);
    return JSON.parse(buf.toString('utf8'));
  }

  /** Stores an artifact and runs the auto-releases it triggers. */
  async uploadArtifact(
    raw: ArtifactUpload,
    actor: Actor,
  ): Promise<{ artifact: Artifact; autoReleases: ReleaseResult[] }> {
    validateUpload(raw, this.envs);
    // The service's auto-release policies, read (a look at the remote) while the upload is stored.
    const policiesRead = this.policies.getPolicies(raw.spec.service);
    policiesRead.catch(() => {}); // awaited below; a refused upload does not wait for it
    // workloads carry the artifact annotation the cluster agent watches
    const upload = { ...raw, manifests: annotateManifests(raw.manifests, raw.spec.service, raw.spec.id) };
    this.guardrails.checkManifests(upload);
    const { spec } = upload;
    if (await this.store.getArtifact(spec.service, spec.id)) {
      // Checked before the blob write so a duplicate never overwrites stored manifests.
      throw new ConflictError(`Artifact '${spec.id}' of service '${spec.service}' already exists`);
    }
    await this.blobs.put(
      this.manifestKey(spec.service, spec.id),
      Buffer.from(JSON.stringify(upload.manifests)),
    );
    const artifact = await this.store.insertArtifact({
      spec,
      environments: Object.keys(upload.manifests).sort(
        (a, b) => this.environment(a).order - this.environment(b).order,
      ),
      createdBy: actor.email,
    });
    this.notifier.notify({
      signal: { kind: 'artifact-uploaded', service: spec.service, artifactId: spec.id },
      title: `${spec.service}: new artifact ${spec.id}`,
      description: `Built from ${spec.application.branch} (${spec.application.sha.slice(0, 10)}) by ${spec.application.authorEmail}`,
      squad: undefined,
    });
    const policies = await policiesRead;
    const targets = autoReleasePolicies(policies, artifact.branch).filter(p =>
      artifact.environments.includes(p.environment),
    );
    // The auto-releases are decided side by side (branch verification, freeze and approval
    // checks) and their commits go out in one push, in the policies' order: the writer is held
    // until each release has queued its commit or ended without one (refused, approval), and
    // each queues its commit only after the one before it did.
    const arrived = targets.map(() => {
      let resolve!: () => void;
      const promise = new Promise<void>(r => (resolve = r));
      return { promise, resolve };
    });
    if (targets.length > 1) {
      const releaseHold = this.writer.hold();
      void Promise.all(arrived.map(a => a.promise)).then(() => releaseHold());
    }
    const autoReleases: ReleaseResult[] = await Promise.all(
      targets.map(async (policy, i) => {
        const env = policy.environment;
        try {
          // An upload never carries authority into production by itself: the policy's author does.
          if (this.environment(env).production && !policy.setBy) {
            throw new NotAllowedError(
              `the auto-release policy into ${env} records no author with the production permission; set it again`,
            );
          }
          return await this.releases.release(
            { service: spec.service, environment: env, artifactId: spec.id },
            actor,
            {
              intent: 'auto-release',
              policyAuthor: policy.setBy,
              uploadedBy: actor.ref,
              beforeQueue: i > 0 ? () => arrived[i - 1].promise : undefined,
              onQueued: arrived[i].resolve,
            },
          );
        } catch (e: any) {
          return { changed: false, message: `auto-release to ${env} failed: ${e.message}` };
        } finally {
          arrived[i].resolve();
        }
      }),
    );
    return { artifact, autoReleases };
  }

  async getArtifact(service: string, artifactId: string): Promise<Artifact> {
    check(invalidNameReason('service', service));
    check(invalidArtifactIdReason(artifactId));
    const a = await this.store.getArtifact(service, artifactId);
    if (!a) throw new NotFoundError(`Artifact '${artifactId}' of service '${service}' not found`);
    return a;
  }

  listArtifacts(service: string, options: { branch?: string; limit?: number; cursor?: string }) {
    check(invalidNameReason('service', service));
    if (options.branch !== undefined) check(invalidBranchReason(options.branch));
    return this.store.listArtifacts(service, options);
  }
}
