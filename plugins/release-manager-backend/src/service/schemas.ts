import { InputError } from '@backstage/errors';
import { z } from 'zod';

const str = (max: number) => z.string().max(max);
const nameish = z.string().min(1).max(63);

/** Artifact spec (artifact.json); unknown fields are rejected. */
export const artifactSpecSchema = z
  .object({
    id: z.string().min(1).max(200),
    service: nameish,
    namespace: nameish,
    squad: nameish.optional(),
    application: z
      .object({
        branch: z.string().min(1).max(200),
        sha: z.string().regex(/^[A-Za-z0-9]{4,64}$/, 'must be a commit sha'),
        authorName: str(255),
        authorEmail: str(255),
        committerName: str(255).optional(),
        committerEmail: str(255).optional(),
        message: str(10_000),
        name: str(255),
        url: str(2000).optional(),
        provider: str(100).optional(),
      })
      .strict(),
    ci: z
      .object({ jobUrl: str(2000).optional(), start: str(64).optional(), end: str(64).optional() })
      .strict()
      .optional(),
    shuttle: z
      .object({
        plan: z.record(z.unknown()).optional(),
        shuttleVersion: str(100).optional(),
      })
      .strict()
      .optional(),
    stages: z
      .array(
        z
          .object({ id: str(200), name: str(200), data: z.record(z.unknown()).optional() })
          .strict(),
      )
      .max(50)
      .optional(),
  })
  .strict();

export const artifactUploadSchema = z
  .object({
    spec: artifactSpecSchema,
    manifests: z.record(z.record(z.string())),
  })
  .strict();

const reason = z.string().max(2000).optional();

/** Explicit override of the production incident freeze; the reason is required. */
const overrideFreeze = z
  .object({
    reason: z
      .string()
      .max(500)
      .refine(v => v.trim().length > 0, 'a reason is required to override a freeze'),
  })
  .strict()
  .optional();

export const releaseRequestSchema = z
  .object({ service: nameish, environment: nameish, artifactId: z.string().min(1).max(200), reason, overrideFreeze })
  .strict();

export const promoteRequestSchema = z
  .object({ service: nameish, fromEnvironment: nameish, toEnvironment: nameish, reason, overrideFreeze })
  .strict();

export const rollbackRequestSchema = z
  .object({
    service: nameish,
    environment: nameish,
    artifactId: z.string().min(1).max(200).optional(),
    reason,
    overrideFreeze,
  })
  .strict();

export const autoReleaseBodySchema = z
  .object({ branch: z.string().min(1).max(200), environment: nameish })
  .strict();

export const branchRestrictionBodySchema = z
  .object({ branchRegex: z.string().min(1).max(200), environment: nameish })
  .strict();

export const rolloutStatusSchema = z
  .object({
    service: nameish,
    environment: nameish,
    artifactId: z.string().min(1).max(200),
    state: z.enum(['pending', 'progressing', 'succeeded', 'failed']),
    ready: z.number().int().min(0).max(100_000).optional(),
    desired: z.number().int().min(0).max(100_000).optional(),
    message: z.string().max(4000).optional(),
    logLines: z.array(z.string().max(2000)).max(100).optional(),
    reason: z.string().regex(/^[A-Za-z][A-Za-z0-9]{0,63}$/, 'must be a Kubernetes reason word').optional(),
    simulated: z.boolean().optional(),
  })
  .strict();

/** Parses a body with a schema; a failure is an InputError naming the fields. */
export function parseBody<T extends z.ZodTypeAny>(schema: T, body: unknown): z.infer<T> {
  const r = schema.safeParse(body);
  if (!r.success) {
    const msg = r.error.issues
      .slice(0, 5)
      .map(i => {
        const where = i.path.length ? i.path.join('.') : 'body';
        if (i.code === 'unrecognized_keys') {
          return `${where}: unknown field(s) ${i.keys.map(k => `'${k}'`).join(', ')}`;
        }
        return `${where}: ${i.message}`;
      })
      .join('; ');
    throw new InputError(`Invalid request: ${msg}`);
  }
  return r.data;
}

/** Platform's decision on outside changes: the commits it saw, and what to do. */
export const outsideDecisionSchema = z
  .object({
    decision: z.enum(['revert', 'adopt']),
    commits: z.array(z.string().regex(/^[0-9a-f]{40}$/, 'a 40-hex commit id')).min(1).max(1000),
  })
  .strict();
