import { renderManifest, shuttleFacts } from './sourceArtifact';

describe('renderManifest', () => {
  const vars = { squad: 'payments', k8s: { replicas: 3 } };
  it('fills shuttle vars and sets every image tag to the commit sha', () => {
    const out = renderManifest(
      'd.yaml',
      'replicas: {{ .Vars.k8s.replicas }}\nsquad: {{.Vars.squad}}\nimage: reg/app:IMAGE_TAG\n  - image: "reg/sidecar:1.2@sha256:abc"\n',
      vars,
      'a'.repeat(40),
    );
    expect(out).toBe(`replicas: 3\nsquad: payments\nimage: reg/app:${'a'.repeat(40)}\n  - image: "reg/sidecar:${'a'.repeat(40)}"\n`);
  });
  it('refuses an undefined or non-scalar variable, naming it', () => {
    expect(() => renderManifest('d.yaml', 'x: {{ .Vars.missing }}', vars, 'sha')).toThrow(/k8s\/d\.yaml uses \{\{ \.Vars\.missing \}\}/);
    expect(() => renderManifest('d.yaml', 'x: {{ .Vars.k8s }}', vars, 'sha')).toThrow(/\.Vars\.k8s/);
  });
});

describe('shuttleFacts', () => {
  it('reads service, squad and namespace like the demo seed', () => {
    expect(shuttleFacts('repo', 'vars:\n  squad: payments\n  k8s: {namespace: pay}\n')).toMatchObject({ service: 'repo', squad: 'payments', namespace: 'pay' });
  });
  it('refuses names that would become unsafe paths', () => {
    expect(() => shuttleFacts('repo', 'vars:\n  service: ../etc\n')).toThrow(/shuttle\.yaml/);
  });
});
