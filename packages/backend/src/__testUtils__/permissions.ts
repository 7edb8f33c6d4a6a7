import {
  AuthService,
  BackstageCredentials,
  coreServices,
  createServiceFactory,
  UserInfoService,
} from '@backstage/backend-plugin-api';
import { mockCredentials, mockServices } from '@backstage/backend-test-utils';
import { CatalogService } from '@backstage/plugin-catalog-node';
import { Entity, RELATION_MEMBER_OF, stringifyEntityRef } from '@backstage/catalog-model';

/**
 * What Backstage's auth backend puts into a token's ownership claims at sign-in: the user and
 * the groups it is a member of (plugin-auth-backend CatalogAuthResolverContext, not exported).
 */
export function defaultOwnershipEntityRefs(entity: Entity): string[] {
  const groups = (entity.relations ?? [])
    .filter(r => r.type === RELATION_MEMBER_OF && r.targetRef.startsWith('group:'))
    .map(r => r.targetRef);
  return Array.from(new Set([stringifyEntityRef(entity), ...groups]));
}

/**
 * A user-info service for test backends with mock tokens: the ownership refs Backstage's auth
 * backend would have put into the token at sign-in (the user and the groups it is a member of,
 * {@link defaultOwnershipEntityRefs}), read from the catalog.
 */
export function ownershipFromCatalog(catalog: CatalogService, auth: AuthService): UserInfoService {
  // a real token carries its claims; here they are looked up once per user and kept for 30 s
  const cache = new Map<string, { at: number; refs: Promise<string[]> }>();
  const lookup = async (userEntityRef: string) => {
    const entity = await catalog.getEntityByRef(userEntityRef, {
      credentials: await auth.getOwnServiceCredentials(),
    });
    return entity ? defaultOwnershipEntityRefs(entity) : [userEntityRef];
  };
  return {
    async getUserInfo(credentials: BackstageCredentials) {
      const principal = credentials.principal as { type: string; userEntityRef?: string };
      if (principal.type !== 'user' || !principal.userEntityRef) {
        throw new Error('getUserInfo needs user credentials');
      }
      const ref = principal.userEntityRef;
      let hit = cache.get(ref);
      if (!hit || Date.now() - hit.at > 30_000) {
        hit = { at: Date.now(), refs: lookup(ref) };
        hit.refs.catch(() => cache.delete(ref));
        cache.set(ref, hit);
      }
      return { userEntityRef: ref, ownershipEntityRefs: await hit.refs };
    },
  };
}

/**
 * Backstage's mock auth, except that a plugin's request on behalf of a user carries the calling
 * plugin as `actor`, as the real auth service's on-behalf-of tokens do (the permission backend's
 * `apply-conditions` call to the catalog is refused for a user token without an actor).
 */
export const mockAuthWithActorFactory = createServiceFactory({
  service: coreServices.auth,
  deps: { plugin: coreServices.pluginMetadata },
  factory({ plugin }) {
    const pluginId = plugin.getId();
    const base = mockServices.auth({ pluginId });
    return Object.assign(Object.create(Object.getPrototypeOf(base)), base, {
      async getPluginRequestToken(options: { onBehalfOf: BackstageCredentials; targetPluginId: string }) {
        const principal = options.onBehalfOf.principal as { type: string; userEntityRef?: string };
        if (principal.type === 'user' && principal.userEntityRef) {
          return { token: mockCredentials.user.token(principal.userEntityRef, { actor: { subject: `plugin:${pluginId}` } }) };
        }
        return base.getPluginRequestToken(options);
      },
    }) as AuthService;
  },
});
