import { createBackendModule } from '@backstage/backend-plugin-api';
import {
  AuthorizeResult,
  PolicyDecision,
  isPermission,
  isResourcePermission,
} from '@backstage/plugin-permission-common';
import {
  PermissionPolicy,
  PolicyQuery,
  PolicyQueryUser,
} from '@backstage/plugin-permission-node';
import { policyExtensionPoint } from '@backstage/plugin-permission-node/alpha';
import {
  catalogConditions,
  createCatalogConditionalDecision,
} from '@backstage/plugin-catalog-backend/alpha';
import {
  catalogEntityDeletePermission,
  catalogLocationDeletePermission,
} from '@backstage/plugin-catalog-common/alpha';
import {
  releaseManagerAuditExportPermission,
  releaseManagerBreakGlassPermission,
  releaseManagerOutsideChangeDecidePermission,
  releaseManagerPolicyWritePermission,
  releaseManagerPromoteProductionPermission,
} from '@devplane/plugin-release-manager-common';
import { oncallIncidentUpdatePermission } from '@devplane/plugin-oncall-common';

/** Members of these groups administer the control plane (platform team). */
export const ADMIN_GROUPS = ['group:default/platform'];

/** Permissions that only owners of the entity (or admins) may use. */
const OWNER_ONLY = new Set([
  releaseManagerPromoteProductionPermission.name,
  releaseManagerPolicyWritePermission.name,
  // the audit export of a service: its squad (and platform); across all services only platform
  // (an unconditional ALLOW, which owners never get: they get the isEntityOwner condition)
  releaseManagerAuditExportPermission.name,
  // acknowledging/resolving an incident lifts a release freeze; the on-call router also lets
  // the people on call for the service do it
  oncallIncidentUpdatePermission.name,
]);

/**
 * The control plane's permission policy:
 * - platform admins may do everything;
 * - production promotion, policy changes, the audit export and acknowledging/resolving incidents are for the
 *   owners of the service
 *   (resolved through the catalog: ownership comes from shuttle.yaml);
 * - deleting catalog entities and locations, deciding on changes made to the config repo
 *   outside the release manager (revert/adopt), and break-glass (releasing without the required
 *   four-eyes approval or inside a freeze) is for admins only;
 * - everything else (reading, non-production releases, triggering incidents) is open to signed-in users.
 */
export class DevplanePermissionPolicy implements PermissionPolicy {
  async handle(request: PolicyQuery, user?: PolicyQueryUser): Promise<PolicyDecision> {
    const claims = user?.info.ownershipEntityRefs ?? [];
    if (claims.some(ref => ADMIN_GROUPS.includes(ref))) {
      return { result: AuthorizeResult.ALLOW };
    }
    const { permission } = request;
    if (
      isPermission(permission, catalogEntityDeletePermission) ||
      isPermission(permission, catalogLocationDeletePermission) ||
      isPermission(permission, releaseManagerOutsideChangeDecidePermission) ||
      isPermission(permission, releaseManagerBreakGlassPermission)
    ) {
      return { result: AuthorizeResult.DENY };
    }
    if (OWNER_ONLY.has(permission.name)) {
      if (!user) return { result: AuthorizeResult.DENY };
      if (isResourcePermission(permission, 'catalog-entity')) {
        return createCatalogConditionalDecision(
          permission,
          catalogConditions.isEntityOwner({ claims }),
        );
      }
      return { result: AuthorizeResult.DENY };
    }
    return { result: AuthorizeResult.ALLOW };
  }
}

/** Installs {@link DevplanePermissionPolicy}. */
export default createBackendModule({
  pluginId: 'permission',
  moduleId: 'devplane-policy',
  register(reg) {
    reg.registerInit({
      deps: { policy: policyExtensionPoint },
      async init({ policy }) {
        policy.setPolicy(new DevplanePermissionPolicy());
      },
    });
  },
});
