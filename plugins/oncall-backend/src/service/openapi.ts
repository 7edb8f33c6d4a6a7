/** OpenAPI 3.0 description of the on-call REST API, served at `/openapi.json` (the catalog registers it). */

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });
const json = (schema: object) => ({ content: { 'application/json': { schema } } });
const ok = (schema: object, description = 'OK') => ({ description, ...json(schema) });
const error = (description: string) => ({ description, ...json(ref('Error')) });
const pathParam = (name: string, description?: string) => ({
  name,
  in: 'path',
  required: true,
  schema: { type: 'string' },
  ...(description ? { description } : {}),
});
const str = { type: 'string' };
const bool = { type: 'boolean' };
const obj = (required: string[], properties: Record<string, object>, additional = false) => ({
  type: 'object',
  required,
  properties,
  additionalProperties: additional,
});
const entityParams = [
  pathParam('kind', 'entity kind, e.g. component'),
  pathParam('namespace', 'entity namespace, e.g. default'),
  pathParam('name', 'entity name, e.g. payment-gateway'),
];
const severity = { type: 'string', enum: ['critical', 'error', 'warning', 'info'] };

export const openApiDocument = {
  openapi: '3.0.3',
  info: {
    title: 'oncall',
    version: '0.1.0',
    description:
      'Who is on call for a catalog entity, and incidents: trigger (pages the on-call person), acknowledge, resolve. ' +
      'Embedded rotations by default, PagerDuty when the entity is annotated. Who triggered is taken from the credentials.',
  },
  servers: [{ url: '/api/oncall' }],
  security: [{ bearer: [] }],
  components: {
    securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
    schemas: {
      Error: obj(
        ['error'],
        {
          error: obj(['name', 'message'], { name: str, message: str }, true),
          response: obj([], { statusCode: { type: 'integer' } }, true),
        },
        true,
      ),
      OnCallPerson: obj(['id', 'name'], {
        id: str,
        name: str,
        email: str,
        url: str,
        contacts: { type: 'array', items: obj(['type', 'address'], { type: str, address: str, label: str }) },
      }),
      EscalationLevel: obj(['level', 'people'], {
        level: { type: 'integer' },
        people: { type: 'array', items: ref('OnCallPerson') },
      }),
      Incident: obj(['id', 'provider', 'entityRef', 'title', 'severity', 'status', 'createdAt', 'actionable'], {
        id: str,
        provider: { type: 'string', enum: ['embedded', 'pagerduty'] },
        entityRef: str,
        title: str,
        severity,
        status: { type: 'string', enum: ['triggered', 'acknowledged', 'resolved'] },
        createdAt: { type: 'string', format: 'date-time' },
        resolvedAt: { type: 'string', format: 'date-time' },
        triggeredBy: str,
        assignedTo: str,
        acknowledgedBy: str,
        resolvedBy: str,
        dedupKey: str,
        url: str,
        actionable: bool,
      }),
      OnCallResponse: obj(['configured'], {
        configured: bool,
        help: { type: 'string', description: 'how to configure on-call (when configured is false)' },
        provider: { type: 'string', enum: ['embedded', 'pagerduty'] },
        schedule: str,
        now: { type: 'array', items: ref('OnCallPerson') },
        next: { type: 'array', items: ref('OnCallPerson') },
        handoffAt: { type: 'string', format: 'date-time' },
        escalation: { type: 'array', items: ref('EscalationLevel') },
        openIncidents: { type: 'array', items: ref('Incident') },
        canTrigger: bool,
      }),
      TriggerIncidentRequest: obj(['description'], {
        description: { type: 'string', minLength: 1, maxLength: 1024 },
        severity,
      }),
      TriggerIncidentResponse: obj(['incident', 'deduplicated'], {
        incident: ref('Incident'),
        deduplicated: bool,
      }),
      ServiceFreeze: obj(['service', 'frozen', 'incidents'], {
        service: str,
        frozen: bool,
        reason: str,
        incidents: { type: 'array', items: ref('Incident') },
      }),
    },
  },
  paths: {
    '/entities/{kind}/{namespace}/{name}/oncall': {
      get: {
        summary: 'Who is on call for the entity, the next shift, the escalation path and open incidents',
        parameters: entityParams,
        responses: {
          '200': ok(ref('OnCallResponse')),
          '400': error('Invalid entity reference'),
          '401': error('Unauthenticated'),
          '404': error('No such entity'),
        },
      },
    },
    '/entities/{kind}/{namespace}/{name}/incidents': {
      post: {
        summary: 'Trigger an incident: pages whoever is on call (rate limited per person and service)',
        parameters: entityParams,
        requestBody: { required: true, ...json(ref('TriggerIncidentRequest')) },
        responses: {
          '200': ok(ref('TriggerIncidentResponse'), 'Deduplicated into an open incident'),
          '201': ok(ref('TriggerIncidentResponse'), 'Incident created'),
          '400': error('Invalid body, or the entity has no on-call configuration'),
          '401': error('Unauthenticated (users only)'),
          '403': error('Not allowed (permission oncall.incident.trigger)'),
          '404': error('No such entity'),
          '429': error('Too many triggers; see Retry-After'),
        },
      },
    },
    '/incidents/{id}/acknowledge': {
      post: {
        summary: 'Acknowledge an embedded incident',
        parameters: [pathParam('id', 'incident id (uuid)')],
        responses: {
          '200': ok(obj(['incident'], { incident: ref('Incident') })),
          '400': error('Invalid incident id'),
          '403': error('Not allowed (permission oncall.incident.update)'),
          '404': error('No such incident'),
        },
      },
    },
    '/incidents/{id}/resolve': {
      post: {
        summary: 'Resolve an embedded incident',
        parameters: [pathParam('id', 'incident id (uuid)')],
        responses: {
          '200': ok(obj(['incident'], { incident: ref('Incident') })),
          '400': error('Invalid incident id'),
          '403': error('Not allowed (permission oncall.incident.update)'),
          '404': error('No such incident'),
        },
      },
    },
    '/services/{name}/freeze': {
      get: {
        summary: 'Whether production releases of the service are frozen by open incidents (read by the release manager)',
        parameters: [pathParam('name', 'component name')],
        responses: {
          '200': ok(ref('ServiceFreeze')),
          '400': error('Invalid name'),
          '404': error('No such component'),
        },
      },
    },
    '/services/{name}/incidents': {
      get: {
        summary:
          'Incidents of the service opened or resolved since a time, and all still open, oldest first (read by the release manager for DORA metrics; at most 5000)',
        parameters: [
          pathParam('name', 'component name or shuttle vars.service'),
          { name: 'since', in: 'query', required: true, schema: { type: 'string', format: 'date-time' } },
        ],
        responses: {
          '200': ok(
            obj(['service', 'since', 'incidents', 'truncated'], {
              service: str,
              since: { type: 'string', format: 'date-time' },
              incidents: { type: 'array', items: ref('Incident') },
              truncated: bool,
            }),
          ),
          '400': error('Invalid name or since'),
          '404': error('No such component'),
        },
      },
    },
    '/openapi.json': {
      get: {
        summary: 'This document',
        security: [],
        responses: { '200': { description: 'OpenAPI document' } },
      },
    },
  },
};
