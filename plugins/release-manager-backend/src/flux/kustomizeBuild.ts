import { execFile } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { FLUX_DIR } from './fluxObjects';

/** Result of building one environment of a config repo checkout. */
export interface EnvironmentBuild {
  environment: string;
  /** `group/version/Kind namespace/name` → the Kustomization(s) that produce it. */
  resources: Map<string, string[]>;
  duplicates: string[];
  errors: string[];
}

/** True when `kubectl` (with its built-in kustomize) can be run. */
export async function kubectlAvailable(): Promise<boolean> {
  return new Promise(resolve => execFile('kubectl', ['version', '--client'], err => resolve(!err)));
}

function kustomize(dir: string): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile('kubectl', ['kustomize', dir], { maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) =>
      err ? reject(new Error(stderr.trim() || err.message)) : resolve(stdout),
    ),
  );
}

/**
 * Builds one environment of a config repo checkout the way Flux's kustomize-controller would:
 * for each Kustomization in `flux/<env>/services/`, its `spec.path`, with a generated
 * `kustomization.yaml` listing every Kubernetes manifest when the folder has none (what the
 * controller generates), through `kubectl kustomize`. Invalid manifests are errors; the same
 * resource produced twice (by one or by two Kustomizations) is a duplicate.
 */
export async function buildEnvironment(checkout: string, environment: string): Promise<EnvironmentBuild> {
  const result: EnvironmentBuild = { environment, resources: new Map(), duplicates: [], errors: [] };
  const servicesDir = path.join(checkout, FLUX_DIR, environment, 'services');
  let entries: string[] = [];
  try {
    entries = (await fs.readdir(servicesDir)).filter(f => /\.ya?ml$/.test(f)).sort();
  } catch {
    result.errors.push(`${FLUX_DIR}/${environment}/services is missing`);
    return result;
  }
  for (const file of entries) {
    const text = await fs.readFile(path.join(servicesDir, file), 'utf8');
    const ks: any = parseAllDocuments(text)[0]?.toJS();
    const name = `${ks?.metadata?.name ?? file}`;
    const rel = String(ks?.spec?.path ?? '').replace(/^\.\//, '');
    if (ks?.kind !== 'Kustomization' || !rel || rel.split('/').includes('..')) {
      result.errors.push(`${file}: not a Kustomization with a path inside the repository`);
      continue;
    }
    const src = path.join(checkout, rel);
    const work = await fs.mkdtemp(path.join(os.tmpdir(), 'ks-build-'));
    try {
      await fs.cp(src, work, { recursive: true });
      const files = (await fs.readdir(work)).sort();
      if (!files.includes('kustomization.yaml')) {
        const resources: string[] = [];
        for (const f of files.filter(x => /\.(ya?ml|json)$/.test(x))) {
          const docs = parseAllDocuments(await fs.readFile(path.join(work, f), 'utf8'));
          // like the controller's generator: only files that hold Kubernetes objects
          if (docs.some(d => d.errors.length === 0 && (d.toJS() as any)?.kind && (d.toJS() as any)?.apiVersion)) {
            resources.push(f);
          } else if (docs.some(d => d.errors.length > 0)) {
            result.errors.push(`${rel}/${f}: invalid YAML: ${docs.find(d => d.errors.length)!.errors[0].message}`);
          }
        }
        await fs.writeFile(
          path.join(work, 'kustomization.yaml'),
          `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n${resources.map(r => `  - ${r}`).join('\n')}\n`,
        );
      }
      const out = await kustomize(work);
      for (const doc of parseAllDocuments(out)) {
        const o: any = doc.toJS();
        if (!o) continue;
        if (!o.kind || !o.apiVersion || !o.metadata?.name) {
          result.errors.push(`${name}: a resource without apiVersion, kind or metadata.name`);
          continue;
        }
        const id = `${o.apiVersion}/${o.kind} ${o.metadata.namespace ?? ''}/${o.metadata.name}`;
        const by = result.resources.get(id) ?? [];
        if (by.length) result.duplicates.push(`${id} (from ${[...by, name].join(', ')})`);
        result.resources.set(id, [...by, name]);
      }
    } catch (e: any) {
      result.errors.push(`${name} (${rel}): ${e.message}`);
    } finally {
      await fs.rm(work, { recursive: true, force: true });
    }
  }
  return result;
}
