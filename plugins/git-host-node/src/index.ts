/**
 * The embedded local git host: bare repositories, git CLI helpers and a URL reader.
 *
 * @packageDocumentation
 */
export * from './git';
export * from './LocalGitHost';
export * from './service';
export * from './urlReader';
