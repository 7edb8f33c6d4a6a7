export interface Config {
  app?: {
    signIn?: {
      /**
       * What the sign-in page offers: any of `oidc` (the backend's OpenID Connect provider),
       * `github`, `guest` and `demo` (the local demo identities). Unset: `demo` and `guest`, the
       * local default. Production lists only its real providers.
       * @visibility frontend
       */
      providers?: Array<'oidc' | 'github' | 'guest' | 'demo'>;
    };
  };
}
