import type { Entity } from '@backstage/catalog-model';

/**
 * Set by the shuttle catalog module (plugins/catalog-backend-module-shuttle): what shuttle itself
 * would refuse in the repository's shuttle.yaml but the catalog could still read (e.g. unknown
 * top-level fields), one warning per line. Duplicate `vars.service` is a processing error, which
 * the catalog's own processing-errors panel shows.
 */
export const ANNOTATION_SHUTTLE_WARNINGS = 'devplane.io/shuttle-warnings';
/** `status.items[].type` of the same warnings. */
export const SHUTTLE_STATUS_TYPE = 'devplane.io/shuttle';

/** The shuttle.yaml warnings of an entity (annotation and status), without duplicates. */
export function shuttleWarningsOf(entity: Entity): string[] {
  const fromAnnotation = (entity.metadata.annotations?.[ANNOTATION_SHUTTLE_WARNINGS] ?? '')
    .split('\n')
    .map(l => l.trim())
    .filter(Boolean);
  const status = (entity as Entity & {
    status?: { items?: Array<{ type?: string; level?: string; message?: string }> };
  }).status;
  const fromStatus = (status?.items ?? [])
    .filter(i => i.type === SHUTTLE_STATUS_TYPE && typeof i.message === 'string')
    .map(i => i.message!.trim());
  return [...new Set([...fromAnnotation, ...fromStatus])];
}
