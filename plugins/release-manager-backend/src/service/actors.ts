import type { AuthService, LoggerService } from '@backstage/backend-plugin-api';
import type { CatalogService } from '@backstage/plugin-catalog-node';
import type { Actor } from './ReleaseManager';

/**
 * The actor for an identity established from credentials: a user entity ref gets the email and
 * display name of its catalog profile; a service subject stands for itself.
 */
export async function actorFromIdentity(
  ref: string,
  deps: { catalog: CatalogService; auth: AuthService; logger: LoggerService },
): Promise<Actor> {
  if (!ref.startsWith('user:')) return { ref, email: ref };
  try {
    const entity = await deps.catalog.getEntityByRef(ref, {
      credentials: await deps.auth.getOwnServiceCredentials(),
    });
    const profile = (entity?.spec as any)?.profile ?? {};
    return {
      ref,
      email: typeof profile.email === 'string' && profile.email ? profile.email : ref,
      displayName: typeof profile.displayName === 'string' ? profile.displayName : undefined,
    };
  } catch (e: any) {
    deps.logger.warn(`Could not look up ${ref} in the catalog: ${e?.message ?? e}`);
    return { ref, email: ref };
  }
}
