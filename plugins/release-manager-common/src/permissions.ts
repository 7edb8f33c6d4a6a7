import { createPermission } from '@backstage/plugin-permission-common';

/** Release, promote or roll back into a non-production environment. */
export const releaseManagerReleasePermission = createPermission({
  name: 'release-manager.release',
  attributes: { action: 'update' },
  resourceType: 'catalog-entity',
});

/** Release, promote or roll back into a production environment. Owner-aware through the catalog. */
export const releaseManagerPromoteProductionPermission = createPermission({
  name: 'release-manager.promote.production',
  attributes: { action: 'update' },
  resourceType: 'catalog-entity',
});

/** Create, change or delete a service's policies. */
export const releaseManagerPolicyWritePermission = createPermission({
  name: 'release-manager.policy.write',
  attributes: { action: 'update' },
  resourceType: 'catalog-entity',
});

/** Upload an artifact (CI usually does this with an external access token). */
export const releaseManagerArtifactCreatePermission = createPermission({
  name: 'release-manager.artifact.create',
  attributes: { action: 'create' },
});

/** Report rollout status (cluster agents, through the status webhook). */
export const releaseManagerRolloutStatusPermission = createPermission({
  name: 'release-manager.rollout-status.report',
  attributes: { action: 'update' },
});

/**
 * Decide on a change made to the config repo outside the release manager (revert or adopt).
 * Platform only: until the decision, the release manager writes nothing to the repo.
 */
export const releaseManagerOutsideChangeDecidePermission = createPermission({
  name: 'release-manager.outside-change.decide',
  attributes: { action: 'update' },
});

/**
 * Break-glass: write a release without the required four-eyes approval, or inside a freeze
 * window / incident freeze, with a reason (recorded as the `Break-glass:` trailer). Platform only.
 */
export const releaseManagerBreakGlassPermission = createPermission({
  name: 'release-manager.break-glass',
  attributes: { action: 'update' },
});

/**
 * Export the audit trail (`GET /audit/export`): every change to an environment, from git.
 * A resource permission on the service: its owners (the squad) and platform may export a
 * service or a squad's services; an export across all services needs it without conditions
 * (platform). See docs/decisions.md "Who may export the audit trail".
 */
export const releaseManagerAuditExportPermission = createPermission({
  name: 'release-manager.audit.export',
  attributes: { action: 'read' },
  resourceType: 'catalog-entity',
});

/** All release manager permissions. */
export const releaseManagerPermissions = [
  releaseManagerReleasePermission,
  releaseManagerPromoteProductionPermission,
  releaseManagerPolicyWritePermission,
  releaseManagerArtifactCreatePermission,
  releaseManagerRolloutStatusPermission,
  releaseManagerOutsideChangeDecidePermission,
  releaseManagerBreakGlassPermission,
  releaseManagerAuditExportPermission,
];
