/* eslint-disable @backstage/no-undeclared-imports */
// A small backend to try the golden path end to end without the full app:
//   NODE_ENV=development node --require @backstage/cli/config/nodeTransform.cjs dev/index.ts --config dev/app-config.yaml
// (from the package directory), then run dev/e2e.ts against it.
import { createBackend } from '@backstage/backend-defaults';
import { gitHostUrlReaderServiceFactory } from '@devplane/plugin-git-host-node';

const backend = createBackend();
backend.add(import('@backstage/plugin-auth-backend'));
backend.add(import('@backstage/plugin-auth-backend-module-guest-provider'));
backend.add(import('@backstage/plugin-catalog-backend'));
backend.add(
  import('@backstage/plugin-catalog-backend-module-scaffolder-entity-model'),
);
backend.add(import('@backstage/plugin-scaffolder-backend'));
backend.add(import('@backstage/plugin-notifications-backend'));
backend.add(import('@backstage/plugin-signals-backend'));
backend.add(import('@devplane/plugin-git-host-backend'));
backend.add(gitHostUrlReaderServiceFactory);
backend.add(import('@devplane/plugin-catalog-backend-module-shuttle'));
backend.add(import('@devplane/plugin-release-manager-backend'));
backend.add(import('../src'));
backend.start();
