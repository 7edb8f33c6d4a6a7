import { fireEvent, render, screen, waitFor } from '@testing-library/react';
import App from './App';

/** The backend as the app sees it at boot: only the guest sign-in answers; the rest is empty. */
function fakeBackend(): jest.SpyInstance {
  const json = (body: unknown) =>
    new Response(JSON.stringify(body), {
      status: 200,
      headers: { 'content-type': 'application/json' },
    });
  return jest
    .spyOn(globalThis, 'fetch')
    .mockImplementation(async (input: RequestInfo | URL) => {
      const url = String(input instanceof Request ? input.url : input);
      if (url.endsWith('/api/auth/guest/refresh')) {
        return json({
          profile: { displayName: 'Guest' },
          backstageIdentity: {
            // a JWT-shaped token the frontend decodes for its expiry (not verified anywhere here)
            token: `e30.${btoa(
              JSON.stringify({
                sub: 'user:development/guest',
                ent: ['user:development/guest'],
                exp: Math.floor(Date.now() / 1000) + 3600,
              }),
            )}.sig`,
            identity: {
              type: 'user',
              userEntityRef: 'user:development/guest',
              ownershipEntityRefs: ['user:development/guest'],
            },
          },
        });
      }
      return json({ items: [] });
    });
}

describe('App', () => {
  afterEach(() => jest.restoreAllMocks());

  it('signs in as guest and opens the catalog page', async () => {
    process.env = {
      NODE_ENV: 'test',
      APP_CONFIG: [
        {
          data: {
            app: { title: 'Test' },
            backend: { baseUrl: 'http://localhost:7007' },
            techdocs: {
              storageUrl: 'http://localhost:7007/api/techdocs/static/docs',
            },
          },
          context: 'test',
        },
      ] as any,
    };
    const fetchSpy = fakeBackend();
    // jest has no package discovery (`app.packages: all` is resolved at build time), so only the
    // features App.tsx lists explicitly are here: open a page one of them provides
    window.history.pushState({}, '', '/catalog');

    render(App.createRoot());

    fireEvent.click(
      await screen.findByRole('button', { name: 'Enter' }, { timeout: 20_000 }),
    );
    // after sign-in the catalog plugin's index page renders (its header is the organisation's
    // catalog, "<organization.name> Catalog"; since 1.57 the plugin's page layout adds its own
    // "Catalog" title above it); an unwired plugin or a broken sign-in fails here
    await waitFor(
      () =>
        expect(
          screen.getByRole('heading', { name: 'Backstage Catalog' }),
        ).toBeInTheDocument(),
      { timeout: 20_000 },
    );
    expect(screen.queryByText(/page not found/i)).not.toBeInTheDocument();
    expect(
      fetchSpy.mock.calls.some(([input]) =>
        String(input instanceof Request ? input.url : input).endsWith(
          '/api/auth/guest/refresh',
        ),
      ),
    ).toBe(true);
  });
});
