import { InputError } from '@backstage/errors';
import {
  invalidArtifactIdReason,
  invalidNameReason,
} from '@devplane/plugin-release-manager-common';
import type { ArtifactUpload, Environment } from '@devplane/plugin-release-manager-common';
import { parseAllDocuments } from 'yaml';
import { invalidBranchReason } from './policies';

/** Size limits of an upload. */
export const LIMITS = {
  manifestFileBytes: 512 * 1024,
  manifestsTotalBytes: 4 * 1024 * 1024,
  filesPerEnvironment: 100,
};

const FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

export function check(reason: string | undefined) {
  if (reason) throw new InputError(reason);
}

/** Path of a service's release folder in the config repo. */
export function releaseDir(env: string, namespace: string, service: string): string {
  return `${env}/releases/${namespace}/${service}`;
}

/** Validates an upload beyond its shape: names, sizes, YAML. Throws InputError. */
export function validateUpload(upload: ArtifactUpload, environments: Environment[]): void {
  const { spec, manifests } = upload;
  check(invalidNameReason('service', spec.service));
  check(invalidNameReason('namespace', spec.namespace));
  if (spec.squad !== undefined) check(invalidNameReason('squad', spec.squad));
  check(invalidArtifactIdReason(spec.id));
  check(invalidBranchReason(spec.application.branch));
  const envs = Object.keys(manifests);
  if (envs.length === 0) throw new InputError('manifests must hold at least one environment');
  let total = 0;
  for (const env of envs) {
    check(invalidNameReason('environment', env));
    if (!environments.some(e => e.name === env)) {
      throw new InputError(
        `manifests name unknown environment '${env}'; known: ${environments.map(e => e.name).join(', ')}`,
      );
    }
    const files = Object.entries(manifests[env]);
    if (files.length === 0) throw new InputError(`manifests.${env} holds no files`);
    if (files.length > LIMITS.filesPerEnvironment) {
      throw new InputError(`manifests.${env} holds more than ${LIMITS.filesPerEnvironment} files`);
    }
    for (const [name, text] of files) {
      if (!FILE_NAME.test(name) || name.includes('..') || name === 'artifact.json') {
        throw new InputError(
          `manifest file name '${JSON.stringify(name).slice(1, -1).slice(0, 100)}' in ${env} is invalid: use letters, digits, '.', '_' and '-' (no folders, not artifact.json)`,
        );
      }
      const bytes = Buffer.byteLength(text, 'utf8');
      if (bytes > LIMITS.manifestFileBytes) {
        throw new InputError(
          `manifest ${env}/${name} is ${bytes} bytes, more than the limit of ${LIMITS.manifestFileBytes}`,
        );
      }
      total += bytes;
      if (text.includes('\0')) throw new InputError(`manifest ${env}/${name} contains NUL bytes`);
      if (/\.(ya?ml)$/i.test(name)) {
        for (const doc of parseAllDocuments(text, { uniqueKeys: false })) {
          if ('errors' in doc && doc.errors.length) {
            throw new InputError(`manifest ${env}/${name} is not valid YAML: ${doc.errors[0].message}`);
          }
          try {
            doc.toJS({ maxAliasCount: 100 });
          } catch (e: any) {
            throw new InputError(`manifest ${env}/${name} is rejected: ${e.message}`);
          }
        }
      }
    }
  }
  if (total > LIMITS.manifestsTotalBytes) {
    throw new InputError(
      `manifests total ${total} bytes, more than the limit of ${LIMITS.manifestsTotalBytes}`,
    );
  }
}
