/**
 * Test helpers of the release manager backend, for this package's tests and its consumers'.
 *
 * @packageDocumentation
 */
export { releaseManagerTestFeatures } from './testBackend';
export type { ReleaseManagerTestOptions } from './testBackend';
