import { createFrontendModule } from '@backstage/frontend-plugin-api';
import { SignInPageBlueprint } from '@backstage/plugin-app-react';
import { oidcAuthApi } from './oidcAuthApi';

/**
 * Sign-in as configured by `app.signIn.providers` (config.d.ts): locally the demo identities
 * (payments developer, lending developer, platform engineer) and the guest; in production the
 * organisation's OIDC and/or GitHub provider (app-config.production.yaml).
 */
const signInPage = SignInPageBlueprint.make({
  params: {
    loader: async () => {
      const { ConfiguredSignInPage } = await import('./ConfiguredSignInPage');
      return props => <ConfiguredSignInPage {...props} />;
    },
  },
});

export const authModule = createFrontendModule({
  pluginId: 'app',
  extensions: [signInPage, oidcAuthApi],
});
