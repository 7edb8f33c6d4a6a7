import type { AuditorService } from '@backstage/backend-plugin-api';
import type { Artifact, ReleaseResult } from '@devplane/plugin-release-manager-common';
import type { Request } from 'express';
import { Actor, ReleaseManager } from './ReleaseManager';
import { artifactUploadSchema, parseBody } from './schemas';

/**
 * The one way an artifact enters the release manager, whoever brings it: a CI upload
 * (`POST /artifacts`), a push to the local git host, or a GitHub push webhook. The body is
 * checked against the upload schema, the upload is validated and stored, auto-release
 * policies run, and the whole is one `artifact-upload` audit event naming the actor and the
 * way it came in. Permission checks on the caller happen before (router) or are the push's own
 * (the git host let the pusher push).
 */
export async function intakeArtifact(options: {
  manager: ReleaseManager;
  auditor: AuditorService;
  request?: Request;
  upload: unknown;
  actor: Actor;
  via: 'api' | 'local-git-host' | 'github';
}): Promise<{ artifact: Artifact; autoReleases: ReleaseResult[] }> {
  const upload = parseBody(artifactUploadSchema, options.upload);
  const event = await options.auditor.createEvent({
    eventId: 'artifact-upload',
    request: options.request,
    severityLevel: 'medium',
    meta: {
      service: upload.spec.service,
      artifactId: upload.spec.id,
      actor: options.actor.ref,
      via: options.via,
    },
  });
  try {
    const result = await options.manager.uploadArtifact(upload, options.actor);
    await event.success({
      meta: { result: { artifactId: result.artifact.id, autoReleases: result.autoReleases.length } },
    });
    return result;
  } catch (error: any) {
    await event.fail({ error });
    throw error;
  }
}
