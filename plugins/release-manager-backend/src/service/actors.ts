import type { AuthService, LoggerService } from '@backstage/backend-plugin-api';
import type { CatalogService } from '@backstage/plugin-catalog-node';
import type { Actor } from './ReleaseManager';

const PROFILE_TTL_MS = 10_000;
const profiles = new WeakMap<CatalogService, Map<string, { actor: Actor; at: number }>>();

/**
 * The actor for an identity established from credentials: a user entity ref gets the email and
 * display name of its catalog profile; a service subject stands for itself.
 */
export async function actorFromIdentity(
  ref: string,
  deps: { catalog: CatalogService; auth: AuthService; logger: LoggerService },
): Promise<Actor> {
  if (!ref.startsWith('user:')) return { ref, email: ref };
  // A profile looked up in the last few seconds is used again: every write request asks (a round
  // trip to the catalog each), and the catalog itself refreshes profiles on a scale of minutes.
  let cache = profiles.get(deps.catalog);
  if (!cache) profiles.set(deps.catalog, (cache = new Map()));
  const hit = cache.get(ref);
  if (hit && Date.now() - hit.at < PROFILE_TTL_MS) return { ...hit.actor };
  const actor = await lookUp(ref, deps);
  if (cache.size > 10_000) cache.clear();
  if (actor.email !== ref) cache.set(ref, { actor, at: Date.now() });
  return { ...actor };
}

async function lookUp(
  ref: string,
  deps: { catalog: CatalogService; auth: AuthService; logger: LoggerService },
): Promise<Actor> {
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
