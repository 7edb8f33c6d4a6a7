import type { ConfigApi } from '@backstage/core-plugin-api';

/** The sign-in choices the app can offer (`app.signIn.providers`, config.d.ts). */
export const SIGN_IN_PROVIDERS = ['demo', 'guest', 'oidc', 'github'] as const;
export type SignInProviderId = (typeof SIGN_IN_PROVIDERS)[number];

/**
 * What the sign-in page offers. Unset: the local demo (demo identities and guest). Production
 * (app-config.production.yaml) lists its real providers; guest and demo are offered only when
 * listed, so a production config without them never shows a guest button. An unknown id is a
 * configuration error, not silently dropped.
 */
export function readSignInProviders(config: ConfigApi): SignInProviderId[] {
  const listed = config.getOptionalStringArray('app.signIn.providers');
  if (!listed) return ['demo', 'guest'];
  const unknown = listed.filter(
    p => !(SIGN_IN_PROVIDERS as readonly string[]).includes(p),
  );
  if (unknown.length) {
    throw new Error(
      `app.signIn.providers: unknown provider ${unknown
        .map(u => `'${u}'`)
        .join(', ')}; expected some of ${SIGN_IN_PROVIDERS.join(', ')}`,
    );
  }
  if (listed.length === 0)
    throw new Error(
      'app.signIn.providers: lists no provider; nobody could sign in',
    );
  return [...new Set(listed)] as SignInProviderId[];
}
