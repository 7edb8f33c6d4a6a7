import { createPermission } from '@backstage/plugin-permission-common';

/**
 * Trigger an incident for a service (pages whoever is on call). A resource
 * permission on the service's catalog entity, so policies can be owner-aware.
 */
export const oncallIncidentTriggerPermission = createPermission({
  name: 'oncall.incident.trigger',
  attributes: { action: 'create' },
  resourceType: 'catalog-entity',
});

/** Acknowledge or resolve an incident kept by the embedded provider. */
export const oncallIncidentUpdatePermission = createPermission({
  name: 'oncall.incident.update',
  attributes: { action: 'update' },
  resourceType: 'catalog-entity',
});

/** All on-call permissions. */
export const oncallPermissions = [
  oncallIncidentTriggerPermission,
  oncallIncidentUpdatePermission,
];
