/**
 * Shared types, validation and permissions of the release manager.
 *
 * @packageDocumentation
 */
export * from './types';
export * from './permissions';
export * from './validation';
export * from './serviceName';
export * from './freeText';
export * from './routes';
export * from './annotations';
export * from './push';
export * from './dora';
export { DORA_FIXTURE } from './doraFixture';
