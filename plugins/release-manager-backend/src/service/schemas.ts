import { InputError } from '@backstage/errors';
import {
  FreeTextOptions,
  invalidFreeTextReason,
} from '@devplane/plugin-release-manager-common';
import { z } from 'zod';


/**
 * A free-text field: data, never structure (no control characters, no trailer lines, bounded).
 * The message comes from {@link invalidFreeTextReason} and names the field by its path.
 */
const text = (options: FreeTextOptions = {}) =>
  z.string().superRefine((value, ctx) => {
    const field = ctx.path.join('.') || 'body';
    const reason = invalidFreeTextReason(field, value, options);
    if (reason) ctx.addIssue({ code: z.ZodIssueCode.custom, message: reason });
  });
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
        authorName: text(),
        authorEmail: text(),
        committerName: text().optional(),
        committerEmail: text().optional(),
        // the application commit's own message: stored as JSON data in artifact.json, never in a
        // release commit message, so its own trailers (Signed-off-by, …) are kept
        message: text({ multiline: true, maxLength: 10_000, allowTrailerLines: true }),
        name: text(),
        url: text({ url: true, maxLength: 2000 }).optional(),
        provider: text({ maxLength: 100 }).optional(),
        committedAt: z
          .string()
          .max(40)
          .refine(v => /^\d{4}-\d{2}-\d{2}T/.test(v) && !Number.isNaN(Date.parse(v)), 'must be an ISO 8601 time')
          .optional(),
      })
      .strict(),
    ci: z
      .object({
        jobUrl: text({ url: true, maxLength: 2000 }).optional(),
        start: text({ maxLength: 64, allowTrailerLines: true }).optional(),
        end: text({ maxLength: 64, allowTrailerLines: true }).optional(),
      })
      .strict()
      .optional(),
    shuttle: z
      .object({
        plan: z.record(z.unknown()).optional(),
        shuttleVersion: text({ maxLength: 100 }).optional(),
      })
      .strict()
      .optional(),
    stages: z
      .array(
        z
          .object({
            id: text({ maxLength: 200 }),
            name: text({ maxLength: 200 }),
            data: z.record(z.unknown()).optional(),
          })
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

/** Why: a paragraph of the commit message (newlines allowed, no trailer lines). */
const reason = text({ multiline: true, maxLength: 2000 }).optional();

/** Explicit override of the production incident freeze; the reason is required (one line: a trailer value). */
const overrideFreeze = z
  .object({
    reason: text({ maxLength: 500, required: true }),
  })
  .strict()
  .optional();

/** Break-glass (issue 14): release without approval / inside a freeze; the reason is required (a trailer value). */
const breakGlass = z
  .object({
    reason: text({ maxLength: 500, required: true }),
  })
  .strict()
  .optional();

/** What the user saw: the artifact and the environment's commit (see pins.ts). */
const pin = z
  .object({
    artifactId: z.string().min(1).max(200).optional(),
    environmentCommit: z
      .string()
      .regex(/^([0-9a-f]{40}|[0-9a-f]{64})?$/, 'must be a full commit sha, or empty for "nothing ran there"')
      .optional(),
  })
  .strict()
  .optional();

export const releaseRequestSchema = z
  .object({ service: nameish, environment: nameish, artifactId: z.string().min(1).max(200), reason, overrideFreeze, breakGlass, pin })
  .strict();

export const promoteRequestSchema = z
  .object({ service: nameish, fromEnvironment: nameish, toEnvironment: nameish, reason, overrideFreeze, breakGlass, pin })
  .strict();

export const rollbackRequestSchema = z
  .object({
    service: nameish,
    environment: nameish,
    artifactId: z.string().min(1).max(200).optional(),
    reason,
    overrideFreeze,
    breakGlass,
    pin,
  })
  .strict();

/** Approve: an optional comment. The approver comes from credentials; any other field is refused. */
export const approveBodySchema = z
  .object({ comment: text({ maxLength: 500 }).optional() })
  .strict();

/** Reject: the reason is required. */
export const rejectBodySchema = z
  .object({ comment: text({ maxLength: 500, required: true }) })
  .strict();

export const autoReleaseBodySchema = z
  .object({ branch: z.string().min(1).max(200), environment: nameish })
  .strict();

export const branchRestrictionBodySchema = z
  .object({ branchRegex: text({ maxLength: 200, required: true, allowTrailerLines: true }), environment: nameish })
  .strict();

/**
 * Several policy changes of one service as one commit (`PATCH /services/:service/policies`):
 * branch restrictions first, then auto-releases, each added or replacing the one of its
 * environment, as the single-policy PUTs do.
 */
export const policyChangesSchema = z
  .object({
    branchRestrictions: z.array(branchRestrictionBodySchema).max(20).optional(),
    autoReleases: z.array(autoReleaseBodySchema).max(20).optional(),
  })
  .strict()
  .superRefine((body, ctx) => {
    for (const key of ['branchRestrictions', 'autoReleases'] as const) {
      const envs = (body[key] ?? []).map(p => p.environment);
      const twice = envs.find((e, i) => envs.indexOf(e) !== i);
      if (twice) ctx.addIssue({ code: z.ZodIssueCode.custom, path: [key], message: `${key} names environment '${twice}' twice` });
    }
    if (!body.branchRestrictions?.length && !body.autoReleases?.length) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'nothing to change: give branchRestrictions or autoReleases' });
    }
  });

export const rolloutStatusSchema = z
  .object({
    service: nameish,
    environment: nameish,
    artifactId: z.string().min(1).max(200),
    state: z.enum(['pending', 'progressing', 'succeeded', 'failed']),
    ready: z.number().int().min(0).max(100_000).optional(),
    desired: z.number().int().min(0).max(100_000).optional(),
    message: text({ multiline: true, maxLength: 4000, allowTrailerLines: true }).optional(),
    logLines: z.array(text({ maxLength: 2000, allowTrailerLines: true })).max(100).optional(),
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
        // free-text reasons already start with the field's path
        return i.message.startsWith(`${where} `) ? i.message : `${where}: ${i.message}`;
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
