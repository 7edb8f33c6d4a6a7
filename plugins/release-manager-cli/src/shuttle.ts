import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { invalidNameReason } from '@devplane/plugin-release-manager-common';
import { usageError } from './errors';

const MAX_SHUTTLE_BYTES = 256 * 1024;

/** Finds `shuttle.yaml` in `cwd` or the nearest parent directory. */
export function findShuttleFile(cwd: string): string | undefined {
  let dir = path.resolve(cwd);
  for (;;) {
    const candidate = path.join(dir, 'shuttle.yaml');
    if (fs.existsSync(candidate) && fs.statSync(candidate).isFile())
      return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/**
 * The service a command is about: `--service`, else `vars.service` of the nearest `shuttle.yaml`,
 * else the name of the directory that holds it. Always a valid name, or a usage error.
 */
export function resolveService(flag: string | undefined, cwd: string): string {
  if (flag !== undefined) return checkedName('service', flag);

  const file = findShuttleFile(cwd);
  if (!file) {
    throw usageError(
      `no --service given and no shuttle.yaml found in ${path.resolve(
        cwd,
      )} or its parents`,
    );
  }
  const service = readService(file) ?? path.basename(path.dirname(file));
  const reason = invalidNameReason('service', service);
  if (reason) throw usageError(`${reason} (from ${file}); pass --service`);
  return service;
}

function readService(file: string): string | undefined {
  const stat = fs.statSync(file);
  if (stat.size > MAX_SHUTTLE_BYTES) {
    throw usageError(
      `${file} is larger than ${MAX_SHUTTLE_BYTES} bytes; pass --service`,
    );
  }
  let doc: unknown;
  try {
    doc = parse(fs.readFileSync(file, 'utf8'), { maxAliasCount: 100 });
  } catch (error) {
    throw usageError(
      `cannot read ${file}: ${(error as Error).message}; pass --service`,
    );
  }
  const vars = (doc as { vars?: { service?: unknown } } | null)?.vars;
  return typeof vars?.service === 'string' && vars.service
    ? vars.service
    : undefined;
}

/** Validates a service / environment name given on the command line. */
export function checkedName(kind: string, value: string): string {
  const reason = invalidNameReason(kind, value);
  if (reason) throw usageError(reason);
  return value;
}
