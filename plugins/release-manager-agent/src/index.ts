/**
 * The release manager's cluster agent.
 *
 * @packageDocumentation
 */
export { ClusterAgent } from './ClusterAgent';
export type { ClusterAgentOptions } from './ClusterAgent';
export { evaluate, fluxFailure } from './evaluate';
export type { Observation } from './evaluate';
export { FakeKubernetesApi } from './testing/FakeKubernetesApi';
