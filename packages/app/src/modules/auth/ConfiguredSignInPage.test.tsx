import { Suspense } from 'react';
import { screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { renderInTestApp } from '@backstage/frontend-test-utils';
import { githubAuthApiRef } from '@backstage/core-plugin-api';
import { ConfiguredSignInPage } from './ConfiguredSignInPage';
import { oidcAuthApiRef } from './oidcAuthApi';

/** The app renders the sign-in page inside a Suspense boundary (its parts load lazily). */
const inApp = (el: JSX.Element) => <Suspense fallback="loading">{el}</Suspense>;

/** An auth API as OAuth2 presents it to the sign-in page; the popup is what the test stands in for. */
function fakeAuthApi(userEntityRef: string) {
  const calls: string[] = [];
  return {
    calls,
    api: {
      async getBackstageIdentity(options?: {
        optional?: boolean;
        instantPopup?: boolean;
      }) {
        calls.push(options?.optional ? 'silent' : 'popup');
        if (options?.optional) return undefined; // no session yet: the page must ask
        return {
          id: 'x',
          token: 'backstage-token',
          identity: {
            type: 'user' as const,
            userEntityRef,
            ownershipEntityRefs: [userEntityRef],
          },
        };
      },
      async getProfile() {
        return {
          email: 'anna.jensen@bank.example',
          displayName: 'Anna Jensen',
        };
      },
      async getIdToken() {
        return 'id-token';
      },
      async signIn() {},
      async signOut() {},
      sessionState$: () =>
        ({ subscribe: () => ({ unsubscribe() {}, closed: false }) } as any),
    },
  };
}

describe('sign-in page from app.signIn.providers', () => {
  it('production (oidc + github, guest off): offers both providers and no guest; OIDC signs the user in', async () => {
    const oidc = fakeAuthApi('user:default/anna.jensen');
    const github = fakeAuthApi('user:default/someone');
    const onSignInSuccess = jest.fn();
    await renderInTestApp(
      inApp(<ConfiguredSignInPage onSignInSuccess={onSignInSuccess} />),
      {
        config: {
          app: {
            title: 'Developer Control Plane',
            signIn: { providers: ['oidc', 'github'] },
          },
        },
        apis: [
          [oidcAuthApiRef, oidc.api as any],
          [githubAuthApiRef, github.api as any],
        ],
      },
    );
    expect(await screen.findByText('Single sign-on')).toBeInTheDocument();
    expect(screen.getByText('GitHub')).toBeInTheDocument();
    expect(screen.queryByText(/guest/i)).not.toBeInTheDocument();
    expect(screen.queryByText(/Payments developer/)).not.toBeInTheDocument();

    const buttons = screen.getAllByRole('button', { name: /sign in/i });
    expect(buttons).toHaveLength(2);
    await userEvent.click(buttons[0]);
    await waitFor(() => expect(onSignInSuccess).toHaveBeenCalledTimes(1));
    const identity = onSignInSuccess.mock.calls[0][0];
    expect((await identity.getBackstageIdentity()).userEntityRef).toBe(
      'user:default/anna.jensen',
    );
    expect(oidc.calls).toContain('popup');
    expect(github.calls).not.toContain('popup');
  });

  it('only OIDC configured: one provider, nothing else', async () => {
    const oidc = fakeAuthApi('user:default/anna.jensen');
    await renderInTestApp(
      inApp(<ConfiguredSignInPage onSignInSuccess={jest.fn()} />),
      {
        config: {
          app: {
            title: 'Developer Control Plane',
            signIn: { providers: ['oidc'] },
          },
        },
        apis: [[oidcAuthApiRef, oidc.api as any]],
      },
    );
    expect(await screen.findByText('Single sign-on')).toBeInTheDocument();
    expect(screen.queryByText('GitHub')).not.toBeInTheDocument();
    expect(screen.getAllByRole('button', { name: /sign in/i })).toHaveLength(1);
  });

  it('unset (the local default): the demo identities and the guest', async () => {
    await renderInTestApp(<ConfiguredSignInPage onSignInSuccess={jest.fn()} />);
    expect(await screen.findByText('Payments developer')).toBeInTheDocument();
    expect(screen.getByText('Guest')).toBeInTheDocument();
    expect(screen.queryByText('Single sign-on')).not.toBeInTheDocument();
  });

  it('an unknown provider is a configuration error naming it, not a silently empty page', async () => {
    const { readSignInProviders } = await import('./signInProviders');
    const config = (providers: string[]) =>
      ({ getOptionalStringArray: () => providers } as any);
    expect(() => readSignInProviders(config(['oidc', 'okta']))).toThrow(
      /app\.signIn\.providers: unknown provider 'okta'/,
    );
    expect(() => readSignInProviders(config([]))).toThrow(/lists no provider/);
    expect(readSignInProviders(config(['github', 'github']))).toEqual([
      'github',
    ]);
  });
});
