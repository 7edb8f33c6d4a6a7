import fs from 'node:fs';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import {
  ArtifactSpec,
  ArtifactUpload,
  invalidArtifactIdReason,
  invalidNameReason,
} from '@devplane/plugin-release-manager-common';
import { usageError } from './errors';

/** Size caps checked before anything is sent. The server enforces its own as well. */
export const LIMITS = {
  specBytes: 256 * 1024,
  manifestBytes: 1024 * 1024,
  totalBytes: 8 * 1024 * 1024,
  environments: 20,
  filesPerEnvironment: 100,
};

const SPEC_KEYS = [
  'id',
  'service',
  'namespace',
  'squad',
  'application',
  'ci',
  'shuttle',
  'stages',
];
const APPLICATION_REQUIRED = [
  'branch',
  'sha',
  'authorName',
  'authorEmail',
  'message',
  'name',
];
const APPLICATION_OPTIONAL = [
  'committerName',
  'committerEmail',
  'url',
  'provider',
];
const CI_KEYS = ['jobUrl', 'start', 'end'];
const MANIFEST_FILE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}\.ya?ml$/;

/** Returns every problem of an artifact spec (empty when it is valid). */
export function specProblems(spec: unknown): string[] {
  if (!isObject(spec)) return ['the spec must be a JSON object'];
  const problems: string[] = [];
  for (const key of Object.keys(spec)) {
    if (!SPEC_KEYS.includes(key)) problems.push(`unknown field '${key}'`);
  }
  push(problems, invalidArtifactIdReason(spec.id));
  push(problems, invalidNameReason('service', spec.service));
  push(problems, invalidNameReason('namespace', spec.namespace));
  if (spec.squad !== undefined)
    push(problems, invalidNameReason('squad', spec.squad));

  const app = spec.application;
  if (!isObject(app)) {
    problems.push(
      'application is required: {branch, sha, authorName, authorEmail, message, name}',
    );
  } else {
    for (const key of Object.keys(app)) {
      if (![...APPLICATION_REQUIRED, ...APPLICATION_OPTIONAL].includes(key)) {
        problems.push(`unknown field 'application.${key}'`);
      }
    }
    for (const key of APPLICATION_REQUIRED) {
      if (typeof app[key] !== 'string' || !app[key]) {
        problems.push(`application.${key} is required (a non-empty string)`);
      }
    }
    for (const key of APPLICATION_OPTIONAL) {
      if (app[key] !== undefined && typeof app[key] !== 'string') {
        problems.push(`application.${key} must be a string`);
      }
    }
  }
  if (spec.ci !== undefined) {
    if (!isObject(spec.ci))
      problems.push('ci must be an object {jobUrl, start, end}');
    else {
      for (const [key, value] of Object.entries(spec.ci)) {
        if (!CI_KEYS.includes(key)) problems.push(`unknown field 'ci.${key}'`);
        else if (typeof value !== 'string')
          problems.push(`ci.${key} must be a string`);
      }
    }
  }
  if (spec.shuttle !== undefined && !isObject(spec.shuttle)) {
    problems.push('shuttle must be an object {plan, shuttleVersion}');
  }
  if (spec.stages !== undefined) {
    if (!Array.isArray(spec.stages)) problems.push('stages must be an array');
    else {
      spec.stages.forEach((stage, i) => {
        if (
          !isObject(stage) ||
          typeof stage.id !== 'string' ||
          typeof stage.name !== 'string'
        ) {
          problems.push(`stages[${i}] needs a string id and name`);
        }
      });
    }
  }
  return problems;
}

/** Reads and validates `artifact.json`; a usage error lists every problem. */
export function readSpec(file: string): ArtifactSpec {
  const stat = statOrThrow(file, 'spec file');
  if (!stat.isFile()) throw usageError(`spec ${file} is not a file`);
  if (stat.size > LIMITS.specBytes) {
    throw usageError(
      `spec ${file} is ${stat.size} bytes; the limit is ${LIMITS.specBytes}`,
    );
  }
  let spec: unknown;
  try {
    spec = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (error) {
    throw usageError(
      `spec ${file} is not valid JSON: ${(error as Error).message}`,
    );
  }
  const problems = specProblems(spec);
  if (problems.length) {
    throw usageError(
      `spec ${file} is invalid:\n${problems.map(p => `  - ${p}`).join('\n')}`,
    );
  }
  return spec as ArtifactSpec;
}

/**
 * Reads `<dir>/<env>/*.yaml` into `{ env: { file: text } }`, checking names, sizes and YAML
 * syntax. Other files are ignored; nested directories are an error.
 */
export function readManifests(
  dir: string,
): Record<string, Record<string, string>> {
  const stat = statOrThrow(dir, 'manifest directory');
  if (!stat.isDirectory())
    throw usageError(`manifests ${dir} is not a directory`);

  const manifests: Record<string, Record<string, string>> = {};
  let total = 0;
  const envDirs = fs
    .readdirSync(dir, { withFileTypes: true })
    .filter(e => e.isDirectory())
    .map(e => e.name)
    .sort();
  if (envDirs.length > LIMITS.environments) {
    throw usageError(
      `${dir} has ${envDirs.length} environment directories; the limit is ${LIMITS.environments}`,
    );
  }
  for (const env of envDirs) {
    const reason = invalidNameReason('environment', env);
    if (reason) throw usageError(`${path.join(dir, env)}: ${reason}`);
    const files: Record<string, string> = {};
    for (const entry of fs.readdirSync(path.join(dir, env), {
      withFileTypes: true,
    })) {
      const file = path.join(dir, env, entry.name);
      if (entry.isDirectory()) {
        throw usageError(
          `${file} is a directory; manifests go directly in <dir>/<env>/*.yaml`,
        );
      }
      if (!/\.ya?ml$/.test(entry.name)) continue;
      if (!entry.isFile()) throw usageError(`${file} is not a regular file`);
      if (!MANIFEST_FILE.test(entry.name)) {
        throw usageError(
          `${file}: file name must be letters, digits, '.', '_', '-' ending in .yaml`,
        );
      }
      const size = fs.statSync(file).size;
      if (size > LIMITS.manifestBytes) {
        throw usageError(
          `${file} is ${size} bytes; the limit is ${LIMITS.manifestBytes}`,
        );
      }
      total += size;
      if (total > LIMITS.totalBytes) {
        throw usageError(
          `manifests in ${dir} exceed ${LIMITS.totalBytes} bytes in total`,
        );
      }
      const text = fs.readFileSync(file, 'utf8');
      const broken = parseAllDocuments(text).find(
        d => 'errors' in d && d.errors.length > 0,
      );
      if (broken && 'errors' in broken) {
        throw usageError(
          `${file} is not valid YAML: ${
            broken.errors[0].message.split('\n')[0]
          }`,
        );
      }
      files[entry.name] = text;
    }
    const count = Object.keys(files).length;
    if (count > LIMITS.filesPerEnvironment) {
      throw usageError(
        `${path.join(dir, env)} has ${count} manifests; the limit is ${
          LIMITS.filesPerEnvironment
        }`,
      );
    }
    if (count > 0) manifests[env] = files;
  }
  if (Object.keys(manifests).length === 0) {
    throw usageError(
      `no manifests found: expected ${path.join(dir, '<env>', '*.yaml')}`,
    );
  }
  return manifests;
}

/** The complete upload body, validated locally. */
export function readUpload(
  specFile: string,
  manifestDir: string,
): ArtifactUpload {
  const spec = readSpec(specFile);
  const manifests = readManifests(manifestDir);
  return { spec, manifests };
}

function statOrThrow(file: string, what: string): fs.Stats {
  try {
    return fs.statSync(file);
  } catch {
    throw usageError(`${what} ${file} does not exist`);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function push(problems: string[], reason: string | undefined) {
  if (reason) problems.push(reason);
}
