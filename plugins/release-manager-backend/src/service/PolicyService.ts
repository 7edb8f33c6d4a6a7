import { ConflictError, InputError, NotFoundError } from '@backstage/errors';
import { policyCommitMessage } from '../git/commitMessage';
import { invalidNameReason } from '@devplane/plugin-release-manager-common';
import type { PolicyVerdict, ServicePolicies } from '@devplane/plugin-release-manager-common';
import { WorkTree } from '../git/GitOpsWriter';
import type { ArtifactService } from './ArtifactService';
import { Actor, ReleaseManagerPart } from './context';
import {
  branchVerdict,
  invalidBranchReason,
  parsePolicies,
  serializePolicies,
  withAutoRelease,
  withBranchRestriction,
  withoutPolicy,
} from './policies';
import { check } from './uploadValidation';

/** Service policies (auto-release, branch restrictions), stored in `policies/<service>.json`. */
export class PolicyService extends ReleaseManagerPart {
  artifacts!: ArtifactService;

  async getPolicies(service: string): Promise<ServicePolicies> {
    check(invalidNameReason('service', service));
    await this.writer.refresh();
    return {
      ...parsePolicies(service, await this.writer.readFile(`policies/${service}.json`), this.envs),
      guardrails: this.guardrails.views(),
    };
  }

  private async changePolicies(
    service: string,
    actor: Actor,
    what: string,
    change: (p: ServicePolicies) => ServicePolicies,
  ): Promise<ServicePolicies> {
    check(invalidNameReason('service', service));
    const rel = `policies/${service}.json`;
    const { result } = await this.writer.write<ServicePolicies>({
      apply: async (tree: WorkTree) => {
        const current = parsePolicies(service, await tree.readFile(rel), this.envs);
        const next = change(current);
        const text = serializePolicies(next);
        if ((await tree.readFile(rel)) === text) return { noop: true, result: next };
        await tree.writeFile(rel, text);
        return {
          result: next,
          commit: {
            message: policyCommitMessage(service, what, actor.email),
            author: { name: actor.displayName ?? actor.email, email: actor.email },
            paths: [rel],
          },
        };
      },
    });
    return result;
  }

  putAutoRelease(service: string, branch: string, environment: string, actor: Actor) {
    return this.applyPolicies(service, { autoReleases: [{ branch, environment }] }, actor);
  }

  putBranchRestriction(service: string, branchRegex: string, environment: string, actor: Actor) {
    return this.applyPolicies(service, { branchRestrictions: [{ branchRegex, environment }] }, actor);
  }

  /**
   * Several changes as one signed commit (the golden path sets a new service's policies so):
   * branch restrictions first, then auto-releases. Every change is checked before anything is
   * written, so one refused change writes nothing. The single-policy PUTs are this with one change.
   */
  applyPolicies(
    service: string,
    changes: {
      branchRestrictions?: { branchRegex: string; environment: string }[];
      autoReleases?: { branch: string; environment: string }[];
    },
    actor: Actor,
  ) {
    const restrictions = changes.branchRestrictions ?? [];
    const autos = changes.autoReleases ?? [];
    for (const r of restrictions) this.environment(r.environment);
    for (const a of autos) {
      check(invalidBranchReason(a.branch));
      this.environment(a.environment);
      const verdict = this.guardrails.branchVerdict(a.branch, a.environment);
      if (!verdict.allowed) throw new ConflictError(`Conflicting policies: ${verdict.reason}`);
    }
    const what = [
      ...restrictions.map(r => `restrict ${r.environment} to branches ${r.branchRegex}`),
      ...autos.map(a => `auto-release ${a.branch} to ${a.environment}`),
    ].join(', ');
    return this.changePolicies(service, actor, what, p => {
      let next = p;
      for (const r of restrictions) next = withBranchRestriction(next, r.branchRegex, r.environment);
      for (const a of autos) next = withAutoRelease(next, a.branch, a.environment, actor.email);
      return next;
    });
  }

  deletePolicy(service: string, policyId: string, actor: Actor) {
    if (!/^[a-z-]+-[0-9a-f]{10}$/.test(policyId)) throw new InputError(`policy id '${policyId.slice(0, 80)}' is invalid`);
    return this.changePolicies(service, actor, `delete policy ${policyId}`, p => {
      const next = withoutPolicy(p, policyId);
      if (!next) throw new NotFoundError(`Policy '${policyId}' of service '${service}' not found`);
      return next;
    });
  }

  /** Branch restriction verdict for releasing an artifact into an environment. */
  async branchVerdict(service: string, environment: string, artifactId: string): Promise<PolicyVerdict> {
    this.environment(environment);
    const artifact = await this.artifacts.getArtifact(service, artifactId);
    const guardrail = this.guardrails.branchVerdict(artifact.branch, environment);
    if (!guardrail.allowed) return guardrail;
    return branchVerdict(await this.getPolicies(service), artifact.branch, environment);
  }
}
