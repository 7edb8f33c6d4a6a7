/*
 * The control plane's backend: stock Backstage plugins plus ours.
 * Embedded defaults (SQLite, local git host, local blobs) come from app-config.yaml;
 * app-config.production.yaml switches to PostgreSQL.
 */
import { createBackend } from '@backstage/backend-defaults';
import { gitHostUrlReaderServiceFactory } from '@devplane/plugin-git-host-node';

const backend = createBackend();

backend.add(import('@backstage/plugin-app-backend'));

// auth: guest sign-in for local use; OIDC and GitHub for production (docs/production.md)
backend.add(import('@backstage/plugin-auth-backend'));
backend.add(import('@backstage/plugin-auth-backend-module-guest-provider'));
// production sign-in (configured in app-config.production.yaml; idle without config)
backend.add(import('@backstage/plugin-auth-backend-module-oidc-provider'));
backend.add(import('@backstage/plugin-auth-backend-module-github-provider'));
// demo identities chosen on the sign-in page (payments / lending developer, platform engineer)
backend.add(import('./demoSignIn'));

// catalog
backend.add(import('@backstage/plugin-catalog-backend'));
backend.add(import('@backstage/plugin-catalog-backend-module-scaffolder-entity-model'));
backend.add(import('@backstage/plugin-catalog-backend-module-logs'));

// scaffolder
backend.add(import('@backstage/plugin-scaffolder-backend'));
backend.add(import('@backstage/plugin-scaffolder-backend-module-github'));
backend.add(import('@backstage/plugin-scaffolder-backend-module-notifications'));

// techdocs, search
backend.add(import('@backstage/plugin-techdocs-backend'));
backend.add(import('@backstage/plugin-search-backend'));
backend.add(import('@backstage/plugin-search-backend-module-catalog'));
backend.add(import('@backstage/plugin-search-backend-module-techdocs'));
// index right after the catalog changes and prebuild TechDocs, not only on the 10-minute schedule
backend.add(import('./searchFreshness'));

// permissions with our policy (not allow-all)
backend.add(import('@backstage/plugin-permission-backend'));
backend.add(import('./permissionPolicy'));

// user settings, notifications, signals
backend.add(import('@backstage/plugin-user-settings-backend'));
backend.add(import('@backstage/plugin-notifications-backend'));
backend.add(import('@backstage/plugin-signals-backend'));
// events: with PostgreSQL its event bus carries signals between replicas (SQLite: in memory)
backend.add(import('@backstage/plugin-events-backend'));

// the developer control plane
backend.add(import('@devplane/plugin-git-host-backend'));
backend.add(gitHostUrlReaderServiceFactory);
backend.add(import('@devplane/plugin-catalog-backend-module-shuttle'));
backend.add(import('@devplane/plugin-oncall-backend'));
backend.add(import('@devplane/plugin-release-manager-backend'));
backend.add(import('@devplane/plugin-scaffolder-backend-module-golden-path'));

// actions for AI agents (release, promote, rollback, status, on-call) over MCP at /api/mcp-actions/v1
backend.add(import('@backstage/plugin-mcp-actions-backend'));

backend.start();
