import { useCallback } from 'react';
import { usePermission } from '@backstage/plugin-permission-react';
import {
  BranchRestrictionPolicy,
  Environment,
  releaseManagerPromoteProductionPermission,
  releaseManagerReleasePermission,
} from '@devplane/plugin-release-manager-common';
import { branchBlockReason } from './helpers';

/** Whether an action button may be pressed, and if not, why (in plain words). */
export interface GuardResult {
  allowed: boolean;
  loading: boolean;
  reason?: string;
}

/**
 * Decides before any click whether a branch may go to an environment: the permission
 * (production needs `release-manager.promote.production`) and the service's branch
 * restrictions. The dialog then shows the server's verdict, which has the last word.
 */
export function useReleaseGuard(
  entityRef: string,
  branchRestrictions: BranchRestrictionPolicy[],
) {
  const production = usePermission({
    permission: releaseManagerPromoteProductionPermission,
    resourceRef: entityRef,
  });
  const nonProduction = usePermission({
    permission: releaseManagerReleasePermission,
    resourceRef: entityRef,
  });

  return useCallback(
    (branch: string, environment: Environment): GuardResult => {
      const permission = environment.production ? production : nonProduction;
      if (permission.loading) return { allowed: false, loading: true };
      if (!permission.allowed) {
        return {
          allowed: false,
          loading: false,
          reason: environment.production
            ? `you may not release to ${environment.name}: production releases need the owners' permission`
            : `you may not release to ${environment.name}: missing permission`,
        };
      }
      const reason = branchBlockReason(
        branchRestrictions,
        environment.name,
        branch,
      );
      if (reason) return { allowed: false, loading: false, reason };
      return { allowed: true, loading: false };
    },
    [production, nonProduction, branchRestrictions],
  );
}
