import { createBackendModule } from '@backstage/backend-plugin-api';
import { AuthenticationError, NotAllowedError } from '@backstage/errors';
import {
  authProvidersExtensionPoint,
  createProxyAuthenticator,
  createProxyAuthProviderFactory,
} from '@backstage/plugin-auth-node';

/** Header the demo sign-in page sends: the catalog User name to sign in as. */
export const DEMO_USER_HEADER = 'x-devplane-demo-user';

/**
 * Demo sign-in (`auth.providers.demo`): signs in as one of the catalog Users listed in
 * `auth.providers.demo.users`, chosen on the sign-in page, so a newcomer can see the owner rule
 * from both sides (a payments developer, a lending developer, a platform engineer). The token is
 * issued by Backstage's auth backend with the user's real catalog memberships
 * (`signInWithCatalogUser`). Like the guest provider it refuses to run outside development unless
 * `dangerouslyAllowOutsideDevelopment: true`; `app-config.production.yaml` turns it off.
 */
export const demoAuthenticator = createProxyAuthenticator({
  defaultProfileTransform: async () => ({ profile: {} }),
  initialize({ config }) {
    const allowed = config.getOptionalBoolean('dangerouslyAllowOutsideDevelopment') === true;
    return {
      users: config.getOptionalStringArray('users') ?? [],
      disabled: process.env.NODE_ENV !== 'development' && !allowed,
    };
  },
  async authenticate({ req }, ctx) {
    if (ctx.disabled) {
      throw new NotAllowedError(
        "The demo sign-in cannot be used outside of a development environment unless 'auth.providers.demo.dangerouslyAllowOutsideDevelopment' is enabled",
      );
    }
    const name = req.header(DEMO_USER_HEADER) ?? '';
    if (!ctx.users.includes(name)) {
      throw new AuthenticationError(
        `Choose one of the demo identities (${ctx.users.join(', ') || 'none configured'}); '${name.slice(0, 60)}' is not one`,
      );
    }
    return { result: { name } };
  },
});

/** Registers the `demo` auth provider (see {@link demoAuthenticator}). */
export default createBackendModule({
  pluginId: 'auth',
  moduleId: 'devplane-demo-provider',
  register(reg) {
    reg.registerInit({
      deps: { providers: authProvidersExtensionPoint },
      async init({ providers }) {
        providers.registerProvider({
          providerId: 'demo',
          factory: createProxyAuthProviderFactory({
            authenticator: demoAuthenticator,
            async signInResolver({ result }, ctx) {
              return ctx.signInWithCatalogUser({ entityRef: { name: result.name } });
            },
          }),
        });
      },
    });
  },
});
