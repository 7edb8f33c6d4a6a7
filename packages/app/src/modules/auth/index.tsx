import { createFrontendModule } from '@backstage/frontend-plugin-api';
import { SignInPageBlueprint } from '@backstage/plugin-app-react';

/**
 * Local sign-in: the demo identities (payments developer, lending developer, platform engineer)
 * and the guest. Production deployments swap in GitHub (see README).
 */
const signInPage = SignInPageBlueprint.make({
  params: {
    loader: async () => {
      const { DemoSignInPage } = await import('./DemoSignInPage');
      return props => <DemoSignInPage {...props} />;
    },
  },
});

export const authModule = createFrontendModule({
  pluginId: 'app',
  extensions: [signInPage],
});
