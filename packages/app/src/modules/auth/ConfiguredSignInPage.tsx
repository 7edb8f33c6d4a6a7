import { SignInPage, type IdentityProviders } from '@backstage/core-components';
import {
  configApiRef,
  githubAuthApiRef,
  useApi,
  type SignInPageProps,
} from '@backstage/core-plugin-api';
import { DemoSignInPage } from './DemoSignInPage';
import { oidcAuthApiRef } from './oidcAuthApi';
import { readSignInProviders, type SignInProviderId } from './signInProviders';

const PROVIDERS: Record<
  Exclude<SignInProviderId, 'demo'>,
  IdentityProviders[number]
> = {
  oidc: {
    id: 'oidc-auth-provider',
    title: 'Single sign-on',
    message: "Sign in with your organisation's account (OpenID Connect)",
    apiRef: oidcAuthApiRef,
  },
  github: {
    id: 'github-auth-provider',
    title: 'GitHub',
    message: 'Sign in with your GitHub account',
    apiRef: githubAuthApiRef,
  },
  guest: 'guest',
};

/**
 * The sign-in page the configuration asks for (`app.signIn.providers`): the local demo page
 * (demo identities and guest) by default, the organisation's real providers in production
 * (OIDC and/or GitHub, no guest unless listed).
 */
export function ConfiguredSignInPage(props: SignInPageProps) {
  const providers = readSignInProviders(useApi(configApiRef));
  if (providers.includes('demo')) return <DemoSignInPage {...props} />;
  return (
    <SignInPage
      {...props}
      title="Sign in to the Developer Control Plane"
      align="center"
      providers={providers.map(
        p => PROVIDERS[p as Exclude<SignInProviderId, 'demo'>],
      )}
    />
  );
}
