/**
 * Shared types, permissions and annotation names of the on-call plugin.
 *
 * @packageDocumentation
 */
export * from './types';
export * from './permissions';
export * from './annotations';
