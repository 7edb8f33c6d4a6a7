import {
  mockServices,
  startTestBackend,
  createMockDirectory,
} from '@backstage/backend-test-utils';
import {
  scaffolderActionsExtensionPoint,
  TemplateAction,
} from '@backstage/plugin-scaffolder-node';
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import goldenPathModule from './index';

describe('scaffolder-backend-module-golden-path', () => {
  const dir = createMockDirectory();

  it('registers the golden path actions with the scaffolder', async () => {
    const actions: TemplateAction<any, any, any>[] = [];
    await startTestBackend({
      extensionPoints: [
        [
          scaffolderActionsExtensionPoint,
          { addActions: (...a: any[]) => actions.push(...a) },
        ],
      ],
      features: [
        goldenPathModule,
        mockServices.rootConfig.factory({
          data: {
            backend: { baseUrl: 'http://localhost:7007' },
            gitHost: { rootDir: dir.resolve('git') },
          },
        }),
      ],
    });
    expect(actions.map(a => a.id)).toEqual([
      'devplane:golden-path:validate',
      'devplane:repo:create',
      'devplane:pipeline:create',
      'devplane:release:first-deploy',
    ]);
    for (const a of actions) {
      expect(a.supportsDryRun).toBe(true);
      expect(a.examples?.length).toBeGreaterThan(0);
      expect(a.schema?.input).toBeDefined();
    }
  });

  it('ships a template with exactly five fields whose steps use only registered or built-in actions', () => {
    const file = path.resolve(
      __dirname,
      '../../../templates/golden-path/template.yaml',
    );
    const template = YAML.parse(fs.readFileSync(file, 'utf8'));
    expect(template.apiVersion).toBe('scaffolder.backstage.io/v1beta3');
    const props = template.spec.parameters.flatMap((p: any) =>
      Object.keys(p.properties),
    );
    expect(props).toEqual(['name', 'squad', 'description', 'kind', 'system']);
    const name = template.spec.parameters[0].properties.name;
    expect(name['ui:autofocus']).toBe(true);
    const pattern = new RegExp(name.pattern);
    expect(['payment-api', 'a1'].every(n => pattern.test(n))).toBe(true);
    expect(
      ['Payment', '../x', 'a/b', '-a', 'x'.repeat(64)].some(n =>
        pattern.test(n),
      ),
    ).toBe(false);
    expect(
      template.spec.parameters[0].properties.squad['ui:options'].catalogFilter
        .kind,
    ).toBe('Group');
    expect(
      template.spec.parameters[0].properties.system['ui:options'].catalogFilter
        .kind,
    ).toBe('System');
    expect(template.spec.parameters[0].properties.kind.enum).toEqual([
      'node',
      'go',
      'static',
    ]);
    expect(template.spec.steps.map((s: any) => s.action)).toEqual([
      'devplane:golden-path:validate',
      'fetch:template',
      'devplane:repo:create',
      'devplane:pipeline:create',
      'devplane:release:first-deploy',
    ]);
    // registration happens inside the orchestrated, undoable deploy step
    const deploy = template.spec.steps.find(
      (s: any) => s.action === 'devplane:release:first-deploy',
    );
    expect(deploy.input.registerCatalogInfo).toBe(true);
    expect(template.spec.output.links[1].entityRef).toBe(
      '${{ steps.deploy.output.entityRef }}',
    );
    for (const kind of ['node', 'go', 'static']) {
      expect(
        fs.existsSync(
          path.resolve(path.dirname(file), 'skeletons', kind, 'README.md'),
        ),
      ).toBe(true);
    }
  });
});
