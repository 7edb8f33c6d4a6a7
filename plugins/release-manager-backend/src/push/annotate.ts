import {
  ARTIFACT_ID_ANNOTATION,
  ENVIRONMENT_ANNOTATION,
  SERVICE_ANNOTATION,
} from '@devplane/plugin-release-manager-common';
import { Document, isMap, parseAllDocuments, YAMLMap } from 'yaml';

/** What the annotations say about a workload. */
export interface WorkloadIdentity {
  service: string;
  environment: string;
  artifactId: string;
}

/** Path of the pod template inside a workload of each kind. */
const TEMPLATE_PATH: Record<string, string[] | null> = {
  Deployment: ['spec', 'template'],
  StatefulSet: ['spec', 'template'],
  DaemonSet: ['spec', 'template'],
  ReplicaSet: ['spec', 'template'],
  Job: ['spec', 'template'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template'],
  Pod: null,
};

function setAnnotations(doc: Document, node: unknown, id: WorkloadIdentity) {
  if (!isMap(node)) return;
  const map = node as YAMLMap;
  if (!isMap(map.get('metadata'))) map.set('metadata', doc.createNode({}));
  const metadata = map.get('metadata') as YAMLMap;
  if (!isMap(metadata.get('annotations'))) metadata.set('annotations', doc.createNode({}));
  const annotations = metadata.get('annotations') as YAMLMap;
  annotations.set(ARTIFACT_ID_ANNOTATION, id.artifactId);
  annotations.set(SERVICE_ANNOTATION, id.service);
  annotations.set(ENVIRONMENT_ANNOTATION, id.environment);
}

/**
 * Adds the release manager's annotations to every workload document (Deployment, StatefulSet,
 * DaemonSet, Job, CronJob, Pod) of a YAML file and to its pod template, so the cluster agent can
 * tell which artifact a pod runs. Other documents and non-YAML files are returned unchanged.
 */
export function annotateManifest(fileName: string, text: string, id: WorkloadIdentity): string {
  if (!/\.ya?ml$/i.test(fileName)) return text;
  const docs = parseAllDocuments(text, { uniqueKeys: false });
  if (!Array.isArray(docs) || docs.length === 0) return text;
  let changed = false;
  for (const doc of docs) {
    if (doc.errors.length) return text; // validation reports it; never rewrite what we cannot read
    const kind = doc.get('kind');
    if (typeof kind !== 'string' || !(kind in TEMPLATE_PATH)) continue;
    setAnnotations(doc, doc.contents, id);
    const templatePath = TEMPLATE_PATH[kind];
    if (templatePath) {
      if (!isMap(doc.getIn(templatePath, true))) doc.setIn(templatePath, doc.createNode({}));
      setAnnotations(doc, doc.getIn(templatePath, true), id);
    }
    changed = true;
  }
  if (!changed) return text;
  return docs.map(d => d.toString({ lineWidth: 0 })).join('');
}

/** Annotates every environment's manifests of an upload for its artifact. */
export function annotateManifests(
  manifests: Record<string, Record<string, string>>,
  service: string,
  artifactId: string,
): Record<string, Record<string, string>> {
  const out: Record<string, Record<string, string>> = {};
  for (const [environment, files] of Object.entries(manifests)) {
    out[environment] = {};
    for (const [name, text] of Object.entries(files)) {
      out[environment][name] = annotateManifest(name, text, { service, environment, artifactId });
    }
  }
  return out;
}
