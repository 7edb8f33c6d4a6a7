import { ARTIFACT_ID_ANNOTATION, ENVIRONMENT_ANNOTATION, SERVICE_ANNOTATION } from '@devplane/plugin-release-manager-common';
import { parseAllDocuments } from 'yaml';
import { annotateManifest } from './annotate';

const id = { service: 'ledger', environment: 'dev', artifactId: 'main-abc-def' };

describe('annotateManifest', () => {
  it('annotates workloads and their pod templates, leaves other documents alone', () => {
    const text = `apiVersion: v1
kind: Service
metadata:
  name: ledger
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: ledger
  annotations:
    keep: "yes"
spec:
  template:
    metadata:
      labels: {app: ledger}
---
apiVersion: batch/v1
kind: CronJob
metadata:
  name: nightly
spec:
  jobTemplate:
    spec:
      template:
        spec:
          containers: []
`;
    const docs = parseAllDocuments(annotateManifest('all.yaml', text, id)).map(d => d.toJS());
    expect(docs[0].metadata.annotations).toBeUndefined();
    expect(docs[1].metadata.annotations).toEqual({
      keep: 'yes',
      [ARTIFACT_ID_ANNOTATION]: 'main-abc-def',
      [SERVICE_ANNOTATION]: 'ledger',
      [ENVIRONMENT_ANNOTATION]: 'dev',
    });
    expect(docs[1].spec.template.metadata.labels).toEqual({ app: 'ledger' });
    expect(docs[1].spec.template.metadata.annotations[ARTIFACT_ID_ANNOTATION]).toBe('main-abc-def');
    expect(docs[2].spec.jobTemplate.spec.template.metadata.annotations[ARTIFACT_ID_ANNOTATION]).toBe('main-abc-def');
  });

  it('returns files it cannot read, or that hold no workload, byte for byte', () => {
    expect(annotateManifest('x.yaml', 'kind: ConfigMap\n# comment\n', id)).toBe('kind: ConfigMap\n# comment\n');
    expect(annotateManifest('x.yaml', 'a: [1,\n', id)).toBe('a: [1,\n');
    expect(annotateManifest('x.json', '{"kind":"Deployment"}', id)).toBe('{"kind":"Deployment"}');
  });
});
