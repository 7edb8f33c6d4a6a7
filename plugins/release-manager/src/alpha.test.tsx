import { screen } from '@testing-library/react';
import { coreExtensionData } from '@backstage/frontend-plugin-api';
import {
  createExtensionTester,
  renderInTestApp,
} from '@backstage/frontend-test-utils';
import {
  EntityCardBlueprint,
  EntityContentBlueprint,
} from '@backstage/plugin-catalog-react/alpha';
import { EntityProvider } from '@backstage/plugin-catalog-react';
import { permissionApiRef } from '@backstage/plugin-permission-react';
import releaseManagerPlugin, {
  auditExportPage,
  auditPageRouteRef,
  entityReleasesContent,
  entitySinceYesterdayCard,
  homeSinceYesterdayWidget,
} from './alpha';
import { releaseManagerApiRef } from './api';
import {
  componentEntity,
  groupEntity,
  mockReleaseManagerApi,
  permissionApiDenying,
} from './__testUtils__';

describe('new frontend system', () => {
  it('is the release-manager plugin with its four extensions', () => {
    expect(releaseManagerPlugin.pluginId).toBe('release-manager');
    for (const extension of [
      'api:release-manager',
      'entity-content:release-manager/releases',
      'entity-card:release-manager/since-yesterday',
      'home-page-widget:release-manager/since-yesterday',
    ]) {
      expect(releaseManagerPlugin.getExtension(extension as any)).toBeDefined();
    }
    expect(homeSinceYesterdayWidget).toBeDefined();
  });

  it('adds a "Releases" tab at releases to components only', () => {
    const tester = createExtensionTester(entityReleasesContent);
    expect(tester.get(coreExtensionData.routePath)).toBe('releases');
    expect(tester.get(EntityContentBlueprint.dataRefs.title)).toBe('Releases');
    const filter = tester.get(EntityContentBlueprint.dataRefs.filterFunction);
    expect(filter?.(componentEntity)).toBe(true);
    expect(filter?.(groupEntity)).toBe(false);
  });

  it('adds the since-yesterday card to groups only', () => {
    const tester = createExtensionTester(entitySinceYesterdayCard);
    const filter = tester.get(EntityCardBlueprint.dataRefs.filterFunction);
    expect(filter?.(groupEntity)).toBe(true);
    expect(filter?.(componentEntity)).toBe(false);
  });

  it('loads the Releases tab lazily', async () => {
    const api = mockReleaseManagerApi();
    const tester = createExtensionTester(entityReleasesContent);
    renderInTestApp(
      <EntityProvider entity={componentEntity}>
        {tester.reactElement()}
      </EntityProvider>,
      {
        apis: [
          [releaseManagerApiRef, api],
          [permissionApiRef, permissionApiDenying()],
        ] as any,
      },
    );
    // the lazy import transforms the whole components tree: allow it time on a loaded machine
    expect(await screen.findByTestId('env-card-dev', {}, { timeout: 15_000 })).toBeInTheDocument();
    expect(api.getStatus).toHaveBeenCalledWith('payment-gateway');
  });

  it('adds the "Audit export" page at /audit with its nav title', async () => {
    const api = mockReleaseManagerApi();
    expect(releaseManagerPlugin.getExtension('page:release-manager/audit' as any)).toBeDefined();
    const tester = createExtensionTester(auditExportPage);
    expect(tester.get(coreExtensionData.routePath)).toBe('/audit');
    // the app's nav lists a page only with a route ref, a title and an icon
    expect(tester.get(coreExtensionData.routeRef)).toBe(auditPageRouteRef);
    expect(tester.get(coreExtensionData.title)).toBe('Audit export');
    expect(tester.get(coreExtensionData.icon)).toBeDefined();
    renderInTestApp(tester.reactElement(), { apis: [[releaseManagerApiRef, api]] as any });
    expect(await screen.findByTestId('audit-download-csv', {}, { timeout: 15_000 })).toBeInTheDocument();
    expect(api.getAuditPreview).toHaveBeenCalled();
  });
});
