import { useState } from 'react';
import {
  Content,
  Header,
  InfoCard,
  Page,
  ProxiedSignInPage,
} from '@backstage/core-components';
import type { IdentityApi, SignInPageProps } from '@backstage/core-plugin-api';
import Button from '@material-ui/core/Button';
import Grid from '@material-ui/core/Grid';
import Typography from '@material-ui/core/Typography';

/** Header the backend's demo provider reads (packages/backend/src/demoSignIn.ts). */
const DEMO_USER_HEADER = 'x-devplane-demo-user';
const STORAGE_KEY = 'devplane.demoSignIn';

/** The demo identities: catalog Users of catalog-info/org.yaml. */
export const DEMO_IDENTITIES = [
  {
    user: 'anna.jensen',
    title: 'Payments developer',
    who: 'Anna Jensen, payments squad',
    description: 'Owns payment-gateway and ledger: may promote them to prod.',
  },
  {
    user: 'mikkel.holm',
    title: 'Second payments developer',
    who: 'Mikkel Holm, payments squad',
    description: "Anna's teammate: approves her prod releases (four eyes), and she his.",
  },
  {
    user: 'sofie.larsen',
    title: 'Lending developer',
    who: 'Sofie Larsen, lending squad',
    description: 'Owns loan-engine and credit-score; refused prod for payments services.',
  },
  {
    user: 'kasper.nissen',
    title: 'Platform engineer',
    who: 'Kasper Nissen, platform squad',
    description: 'Administers the control plane: may do everything.',
  },
];

type Choice = { provider: 'demo'; user: string } | { provider: 'guest' };

function readChoice(): Choice | undefined {
  try {
    const raw = window.localStorage.getItem(STORAGE_KEY);
    const parsed = raw ? JSON.parse(raw) : undefined;
    if (parsed?.provider === 'guest') return { provider: 'guest' };
    if (parsed?.provider === 'demo' && DEMO_IDENTITIES.some(i => i.user === parsed.user)) {
      return { provider: 'demo', user: parsed.user };
    }
  } catch {
    // unreadable choice: ask again
  }
  return undefined;
}

/** Signing out forgets the chosen identity, so the next visit asks again. */
function forgetOnSignOut(identity: IdentityApi): IdentityApi {
  return {
    getProfileInfo: () => identity.getProfileInfo(),
    getBackstageIdentity: () => identity.getBackstageIdentity(),
    getCredentials: () => identity.getCredentials(),
    signOut: async () => {
      window.localStorage.removeItem(STORAGE_KEY);
      await identity.signOut();
    },
  };
}

/**
 * The local demo's sign-in page: choose who you are — a payments developer, a lending developer,
 * a platform engineer (each a catalog User with real memberships, through the backend's `demo`
 * provider), or the guest (platform). Production swaps this page for a real provider.
 */
export function DemoSignInPage(props: SignInPageProps) {
  const [choice, setChoice] = useState<Choice | undefined>(readChoice);
  const choose = (c: Choice) => {
    window.localStorage.setItem(STORAGE_KEY, JSON.stringify(c));
    setChoice(c);
  };
  if (choice) {
    const onSignInSuccess = (identity: IdentityApi) => props.onSignInSuccess(forgetOnSignOut(identity));
    return choice.provider === 'guest' ? (
      <ProxiedSignInPage {...props} onSignInSuccess={onSignInSuccess} provider="guest" />
    ) : (
      <ProxiedSignInPage
        {...props}
        onSignInSuccess={onSignInSuccess}
        provider="demo"
        headers={{ [DEMO_USER_HEADER]: choice.user }}
      />
    );
  }
  return (
    <Page themeId="home">
      <Header title="Developer Control Plane" subtitle="Demo: choose who you are" />
      <Content>
        <Grid container spacing={3}>
          {DEMO_IDENTITIES.map(i => (
            <Grid item xs={12} sm={6} md={3} key={i.user}>
              <InfoCard title={i.title} subheader={i.who}>
                <Typography variant="body2" paragraph>
                  {i.description}
                </Typography>
                <Button
                  variant="outlined"
                  color="primary"
                  aria-label={`Sign in as ${i.title}`}
                  onClick={() => choose({ provider: 'demo', user: i.user })}
                >
                  Sign in as {i.title}
                </Button>
              </InfoCard>
            </Grid>
          ))}
          <Grid item xs={12} sm={6} md={3}>
            <InfoCard title="Guest" subheader="Platform squad">
              <Typography variant="body2" paragraph>
                The local guest (a platform member): everything is allowed.
              </Typography>
              <Button variant="outlined" color="primary" onClick={() => choose({ provider: 'guest' })}>
                Enter
              </Button>
            </InfoCard>
          </Grid>
        </Grid>
      </Content>
    </Page>
  );
}
