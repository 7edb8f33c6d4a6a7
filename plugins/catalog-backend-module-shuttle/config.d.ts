import { SchedulerServiceTaskScheduleDefinitionConfig } from '@backstage/backend-plugin-api';

export interface Config {
  catalog?: {
    /** Ownership and facts from shuttle.yaml (`@devplane/plugin-catalog-backend-module-shuttle`). */
    shuttle?: {
      /**
       * When true, values from shuttle.yaml replace what catalog-info.yaml states explicitly
       * (owner, system, the devplane.io annotations). Default false: catalog-info.yaml wins.
       */
      override?: boolean;
      /** Entity kinds to enrich. Default: Component, API, Resource. */
      kinds?: string[];
      /** Use `vars.domain` as `spec.system` when `vars.system` is absent. Default false. */
      systemFromDomain?: boolean;
      /**
       * Check that the squad's Group exists in the catalog; an unknown squad is a processing
       * error and is not set as owner. Default true.
       */
      requireGroup?: boolean;
      /** Squad name → group entity ref, e.g. `payments: group:default/payments-team`. Default `group:<squad>`. */
      squadGroups?: { [squad: string]: string };
      /** Largest accepted shuttle.yaml in bytes. Default 65536. */
      maxBytes?: number;
      /** Largest number of YAML alias dereferences (alias-bomb guard). Default 50. */
      maxAliasCount?: number;
      /** Entries in the in-memory ETag → parsed result cache. Default 10000. */
      cacheSize?: number;
      /** How long the list of Groups is kept, in seconds. Default 30. */
      groupCacheSeconds?: number;
      /**
       * Hosts (`host` or `host:port`) that shuttle.yaml may be read from even though they resolve
       * to loopback/private/link-local addresses. The local git host and configured integration
       * hosts are always trusted and read through Backstage's URL reader.
       */
      trustedHosts?: string[];
    };
    providers?: {
      /** Discovery of repositories that have a shuttle.yaml and no catalog-info.yaml. */
      shuttle?: {
        /** Set to false to turn discovery off. Default true. */
        enabled?: boolean;
        /** `git-host` (the embedded local git host, default) or `github`. */
        source?: 'git-host' | 'github';
        /** GitHub organisation to scan when `source: github`; token and API URL come from `integrations.github`. */
        github?: {
          org: string;
          /** Default github.com. */
          host?: string;
        };
        /** Default: every minute, 5 minute timeout. */
        schedule?: SchedulerServiceTaskScheduleDefinitionConfig;
      };
    };
  };
}
