import { mockServices } from '@backstage/backend-test-utils';
import { catalogServiceMock } from '@backstage/plugin-catalog-node/testUtils';
import { ScmIntegrations } from '@backstage/integration';
import { ConfigReader } from '@backstage/config';
import { DEFAULT_ENVIRONMENTS } from '../config';
import { CatalogBranchVerifier } from './branchVerifier';
import { Guardrails, resolveGuardrails, safeRegexTest } from './guardrails';

describe('guardrails', () => {
  const g = new Guardrails(DEFAULT_ENVIRONMENTS);

  it('evaluates a known ReDoS pattern in linear time (RE2)', () => {
    const input = `${'a'.repeat(5000)}!`;
    const t0 = Date.now();
    expect(safeRegexTest('^(a+)+$', input)).toBe(false);
    expect(Date.now() - t0).toBeLessThan(1000);
    expect(() => safeRegexTest('^(a)\\1$', 'aa')).toThrow(/not a valid RE2/);
  });

  it('defaults production to master/main and names where that comes from', () => {
    expect(g.branchVerdict('main', 'prod')).toEqual({ allowed: true });
    expect(g.branchVerdict('feature/x', 'prod')).toMatchObject({
      allowed: false,
      reason: expect.stringContaining('default for production environments'),
    });
    expect(g.branchVerdict('feature/x', 'dev')).toEqual({ allowed: true });
    expect(g.needsBranchVerification('prod')).toBe(true);
    expect(g.needsBranchVerification('dev')).toBe(false);
  });

  it('refuses cluster-scoped kinds and foreign namespaces unless allowed', () => {
    const upload = (yaml: string) => ({
      spec: { namespace: 'payments' } as any,
      manifests: { dev: { 'a.yaml': yaml } },
    });
    expect(() => g.checkManifests(upload('apiVersion: v1\nkind: Namespace\nmetadata:\n  name: x\n'))).toThrow(/cluster-scoped/);
    expect(() => g.checkManifests(upload('apiVersion: v1\nkind: ConfigMap\nmetadata:\n  namespace: lending\n'))).toThrow(/namespace 'lending'/);
    expect(() => g.checkManifests(upload('apiVersion: v1\nkind: ConfigMap\nmetadata:\n  namespace: payments\n'))).not.toThrow();
    const open = new Guardrails(DEFAULT_ENVIRONMENTS, [
      resolveGuardrails(DEFAULT_ENVIRONMENTS[0], 0, { allowClusterScoped: true, allowedNamespaces: ['lending'] }),
    ]);
    expect(() => open.checkManifests(upload('apiVersion: v1\nkind: Namespace\nmetadata:\n  name: x\n'))).not.toThrow();
    expect(() => open.checkManifests(upload('apiVersion: v1\nkind: ConfigMap\nmetadata:\n  namespace: lending\n'))).not.toThrow();
    const kinds = new Guardrails(DEFAULT_ENVIRONMENTS, [resolveGuardrails(DEFAULT_ENVIRONMENTS[0], 0, { allowedKinds: ['apps/Deployment'] })]);
    expect(() => kinds.checkManifests(upload('apiVersion: v1\nkind: Service\n'))).toThrow(/kind Service is not allowed/);
  });

  it('lets owners and configured uploaders upload production manifests, nobody else', () => {
    const owners = ['group:default/payments'];
    expect(g.uploadVerdict(['user:default/a', 'group:default/payments'], owners, ['dev', 'prod']).allowed).toBe(true);
    expect(g.uploadVerdict(['user:default/m', 'group:default/lending'], owners, ['prod']).allowed).toBe(false);
    expect(g.uploadVerdict(['user:default/m'], owners, ['dev']).allowed).toBe(true);
    const ci = new Guardrails(DEFAULT_ENVIRONMENTS, [resolveGuardrails(DEFAULT_ENVIRONMENTS[2], 2, { uploaders: ['ci'] })]);
    expect(ci.uploadVerdict(['ci'], owners, ['prod']).allowed).toBe(true);
    expect(ci.uploadVerdict(['other'], owners, ['prod']).allowed).toBe(false);
  });
});

describe('branch verification on GitHub (stand-in speaking the compare API)', () => {
  const entity = {
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'Component',
    metadata: { name: 'ledger', namespace: 'default', annotations: { 'backstage.io/source-location': 'url:https://github.com/bank/ledger/tree/main/' } },
    spec: { type: 'service', lifecycle: 'production', owner: 'payments' },
  };
  const sha = 'a'.repeat(40);
  const verifier = (status: number, body: any, calls: string[]) =>
    new CatalogBranchVerifier({
      catalog: catalogServiceMock({ entities: [entity] }),
      auth: mockServices.auth(),
      logger: mockServices.logger.mock(),
      integrations: ScmIntegrations.fromConfig(new ConfigReader({ integrations: { github: [{ host: 'github.com', token: 't0ken' }] } })),
      fetch: (async (url: string, init: any) => {
        calls.push(`${url} ${init.headers.Authorization ?? init.headers.authorization ?? ''}`);
        return new Response(JSON.stringify(body), { status });
      }) as any,
    });

  it('accepts a commit behind or identical to the branch, with the integration credentials', async () => {
    const calls: string[] = [];
    expect(await verifier(200, { status: 'behind' }, calls).verify('ledger', 'main', sha)).toEqual({ allowed: true });
    expect(calls[0]).toBe(`https://api.github.com/repos/bank/ledger/compare/main...${sha} Bearer t0ken`);
  });

  it('refuses a commit that diverged from or is ahead of the branch, and unknown commits', async () => {
    const calls: string[] = [];
    expect(await verifier(200, { status: 'ahead' }, calls).verify('ledger', 'main', sha)).toMatchObject({
      allowed: false,
      reason: expect.stringContaining("not on 'main' of bank/ledger"),
    });
    expect((await verifier(404, {}, calls).verify('ledger', 'main', sha)).allowed).toBe(false);
    expect((await verifier(200, { status: 'identical' }, calls).verify('unknown', 'main', sha))).toMatchObject({
      allowed: false,
      reason: expect.stringContaining("the catalog has no component 'unknown'"),
    });
  });
});
