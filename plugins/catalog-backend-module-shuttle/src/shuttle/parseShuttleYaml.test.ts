import fs from 'node:fs';
import path from 'node:path';
import { parsePlan, parseShuttleYaml, planBrowseUrl, planToString } from './parseShuttleYaml';

const fixture = (name: string) => fs.readFileSync(path.join(__dirname, '..', '__fixtures__', name));

function ok(data: Buffer | string) {
  const r = parseShuttleYaml(data);
  if (!r.ok) throw new Error(`expected valid, got: ${r.reason}`);
  return r.file;
}
function reason(data: Buffer | string, options?: Parameters<typeof parseShuttleYaml>[1]) {
  const r = parseShuttleYaml(data, options);
  if (r.ok) throw new Error('expected invalid');
  return r.reason;
}

describe('parseShuttleYaml: allowed shapes', () => {
  it('plan as a path, nested vars and scripts', () => {
    const f = ok(fixture('plan-path.yaml'));
    expect(f.plan).toEqual({ kind: 'path', path: '../the-plan' });
    expect(f.squad).toBe('payments');
    expect(f.service).toBe('payment-gateway');
    expect(f.system).toBe('banking-core');
    expect(f.namespace).toBe('payments');
    expect(f.vars).toMatchObject({ docker: { ports: [8080, 9090] }, k8s: { replicas: 3 } });
    expect(f.scripts.build).toEqual({
      description: 'Build the service',
      args: [{ name: 'tag', required: true, description: 'image tag' }],
      actions: [{ shell: 'docker build -t $tag .' }],
    });
    expect(f.scripts.test.args).toEqual([]);
  });

  it('plan: false', () => {
    const f = ok(fixture('plan-false.yaml'));
    expect(f.plan).toEqual({ kind: 'none' });
    expect(planToString(f.plan!)).toBe('false');
    expect(f.domain).toBe('banking-core');
    expect(f.namespace).toBeUndefined();
  });

  it('plan as a git URL with #ref, deeply nested vars', () => {
    const f = ok(fixture('plan-git-ref.yaml'));
    expect(f.plan).toEqual({
      kind: 'git',
      url: 'https://github.com/lunarway/shuttle-example-go-plan.git',
      ref: 'v1.2.0',
    });
    expect(planToString(f.plan!)).toBe('https://github.com/lunarway/shuttle-example-go-plan.git#v1.2.0');
    expect(planBrowseUrl(f.plan!)).toBe('https://github.com/lunarway/shuttle-example-go-plan/tree/v1.2.0');
    expect(f.namespace).toBe('kyc');
    expect((f.vars as any).nested.deeper.list[1].b).toEqual(['x', 'y']);
  });

  it('plan as an scp-style git URL without ref', () => {
    const f = ok(fixture('plan-git-ssh.yaml'));
    expect(f.plan).toEqual({ kind: 'git', url: 'git@github.com:lunarway/shuttle-example-go-plan.git' });
    expect(planBrowseUrl(f.plan!)).toBe('https://github.com/lunarway/shuttle-example-go-plan');
  });

  it('a few ordinary anchors and aliases are fine', () => {
    const f = ok(fixture('anchors-ok.yaml'));
    expect(f.squad).toBe('payments');
    expect(f.service).toBe('ledger');
  });

  it('honours YAML merge keys as shuttle (Go yaml) does: the owner comes from the merged map', () => {
    const f = ok(`plan: false
vars:
  base: &base
    squad: payments
    service: ledger
    k8s: { namespace: payments }
  <<: *base
`);
    expect(f.squad).toBe('payments');
    expect(f.service).toBe('ledger');
    expect(f.namespace).toBe('payments');
    expect(f.warnings).toEqual([]);
  });

  it('merge keys: keys written in the mapping win; in a list, earlier maps win', () => {
    const f = ok(`vars:
  defaults: &defaults { squad: platform, service: shared, system: banking-core }
  team: &team { squad: lending }
  <<: [*team, *defaults]
  service: loan-engine
`);
    expect(f.squad).toBe('lending'); // *team is listed before *defaults
    expect(f.service).toBe('loan-engine'); // written in the mapping itself
    expect(f.system).toBe('banking-core'); // only in *defaults
  });

  it('an unknown top-level field is read but warned about (shuttle refuses it)', () => {
    const f = ok(fixture('anchors-ok.yaml'));
    expect(f.squad).toBe('payments');
    expect(f.warnings).toEqual([
      "unknown top-level field 'defaults': shuttle refuses fields other than 'plan', 'vars', 'scripts' (put shared values under 'vars', or anchors inside it)",
    ]);
  });

  it('a file without plan or scripts', () => {
    const f = ok('vars:\n  squad: platform\n');
    expect(f.plan).toBeUndefined();
    expect(f.scripts).toEqual({});
  });

  it('parses plan values on their own', () => {
    expect(parsePlan('git://example.com/plan.git#main')).toEqual({
      kind: 'git',
      url: 'git://example.com/plan.git',
      ref: 'main',
    });
    expect(parsePlan('plans/go')).toEqual({ kind: 'path', path: 'plans/go' });
  });
});

describe('parseShuttleYaml: bad input gives a clear reason', () => {
  it('bad YAML', () => {
    expect(reason(fixture('bad-yaml.yaml'))).toMatch(/^invalid YAML: /);
  });

  it('alias bomb', () => {
    const started = Date.now();
    expect(reason(fixture('alias-bomb.yaml'))).toMatch(/alias bomb/);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('oversized', () => {
    const big = `plan: false\nvars:\n  squad: payments\n  blob: "${'x'.repeat(70 * 1024)}"\n`;
    expect(reason(big)).toMatch(/larger than the limit of 65536 bytes/);
    expect(reason('plan: false\n', { maxBytes: 5 })).toMatch(/12 bytes, larger than the limit of 5/);
  });

  it.each([
    ['plan: 42\n', "'plan' must be a path, a git URL or false, not a number"],
    ['plan: true\n', "'plan' must be a path, a git URL or false, not a boolean"],
    ['plan: ""\n', "'plan' must not be empty"],
    ['plan: "https://x.example/p.git#bad ref"\n', "ref 'bad ref' after '#' is not a valid git ref"],
    ['vars: [a, b]\n', "'vars' must be a mapping, not a list"],
    ['vars:\n  squad: [payments]\n', "'vars.squad' must be a string, not a list"],
    ['vars:\n  squad: "pay ments"\n', "'vars.squad' value 'pay ments' is not a valid name"],
    ['vars:\n  squad: 12\n', "'vars.squad' must be a string, not a number"],
    ['vars:\n  k8s: payments\n', "'vars.k8s' must be a mapping, not a string"],
    ['vars:\n  k8s:\n    namespace: Payments_NS\n', "'vars.k8s.namespace' value 'Payments_NS' is not a Kubernetes namespace"],
    ['scripts: [build]\n', "'scripts' must be a mapping"],
    ['scripts:\n  build: echo\n', "'scripts.build' must be a mapping, not a string"],
    ['scripts:\n  build:\n    actions: {shell: x}\n', "'scripts.build'.actions must be a list"],
    ['scripts:\n  build:\n    actions: [{shell: [x]}]\n', "'scripts.build'.actions[0].shell must be a string"],
    ['scripts:\n  build:\n    args: [{required: true}]\n', "'scripts.build'.args[0] must be a mapping with a string 'name'"],
    ['- just\n- a list\n', 'the document must be a mapping'],
    ['', 'shuttle.yaml is empty'],
    ['plan: false\n---\nplan: false\n', 'must hold one YAML document, found 2'],
    ['plan: a\nplan: b\n', 'invalid YAML: Map keys must be unique'],
  ])('%j → %s', (input, expected) => {
    expect(reason(input)).toContain(expected);
  });
});
