import { createHash } from 'node:crypto';

function sha256(text: string) {
  return createHash('sha256').update(text).digest('hex');
}

/** Lower-case, trim and collapse whitespace so trivially different retypes match. */
export function normalizeDescription(description: string) {
  return description.trim().replace(/\s+/g, ' ').toLowerCase();
}

/**
 * The dedup key sent with a trigger: the service and what is happening (the normalised
 * summary), not who pressed the button or when. Two engineers reporting the same outage, a
 * double click or a retry all fold into the one open incident (PagerDuty dedups open incidents
 * on the key; the embedded store keeps it unique among open incidents). Once the incident is
 * resolved the key is free again and the same summary opens a new one.
 */
export function deriveDedupKey(options: {
  entityRef: string;
  description: string;
}): string {
  const descriptionHash = sha256(normalizeDescription(options.description));
  const digest = sha256([options.entityRef, descriptionHash].join('\n'));
  return `devplane-${digest.slice(0, 32)}`;
}
