import { createApiRef } from '@backstage/core-plugin-api';
import {
  Artifact,
  Environment,
  EnvironmentStatus,
  ManifestDiff,
  Page,
  PolicyVerdict,
  PromoteRequest,
  Release,
  ReleaseRequest,
  ReleaseResult,
  RollbackRequest,
  ServicePolicies,
} from '@devplane/plugin-release-manager-common';

/** Paging options of list routes. */
export interface PageOptions {
  limit?: number;
  cursor?: string;
}

/**
 * Client of the release manager REST API (`/api/release-manager`).
 *
 * @public
 */
export interface ReleaseManagerApi {
  getEnvironments(): Promise<Environment[]>;
  getArtifacts(
    service: string,
    options?: PageOptions & { branch?: string },
  ): Promise<Page<Artifact>>;
  getArtifact(service: string, artifactId: string): Promise<Artifact>;
  getStatus(service: string): Promise<EnvironmentStatus[]>;
  getReleases(
    service: string,
    options?: PageOptions & { environment?: string },
  ): Promise<Page<Release>>;
  getTeamReleases(team: string, since: Date): Promise<Release[]>;
  release(request: ReleaseRequest): Promise<ReleaseResult>;
  promote(request: PromoteRequest): Promise<ReleaseResult>;
  rollback(request: RollbackRequest): Promise<ReleaseResult>;
  getDiff(
    service: string,
    environment: string,
    artifactId: string,
  ): Promise<ManifestDiff>;
  getVerdict(
    service: string,
    environment: string,
    artifactId: string,
  ): Promise<PolicyVerdict>;
  getPolicies(service: string): Promise<ServicePolicies>;
  setAutoReleasePolicy(
    service: string,
    policy: { branch: string; environment: string },
  ): Promise<ServicePolicies>;
  setBranchRestrictionPolicy(
    service: string,
    policy: { branchRegex: string; environment: string },
  ): Promise<ServicePolicies>;
  deletePolicy(service: string, policyId: string): Promise<ServicePolicies>;
}

/** @public */
export const releaseManagerApiRef = createApiRef<ReleaseManagerApi>({
  id: 'plugin.release-manager.service',
});
