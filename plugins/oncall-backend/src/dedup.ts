import { createHash } from 'node:crypto';

function sha256(text: string) {
  return createHash('sha256').update(text).digest('hex');
}

/** Lower-case, trim and collapse whitespace so trivially different retypes match. */
export function normalizeDescription(description: string) {
  return description.trim().replace(/\s+/g, ' ').toLowerCase();
}

/**
 * The dedup key sent with a trigger. The same service, user and description
 * within the same time bucket give the same key, so a double click, a browser
 * retry or our own HTTP retry opens one incident, while a new description (or
 * the same one after the bucket) opens a new one.
 */
export function deriveDedupKey(options: {
  entityRef: string;
  userRef: string;
  description: string;
  now: number;
  bucketMs: number;
}): string {
  const bucket = Math.floor(options.now / options.bucketMs);
  const descriptionHash = sha256(normalizeDescription(options.description));
  const digest = sha256(
    [options.entityRef, options.userRef, bucket, descriptionHash].join('\n'),
  );
  return `devplane-${digest.slice(0, 32)}`;
}
