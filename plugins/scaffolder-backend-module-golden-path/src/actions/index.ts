import { GoldenPathDeps } from '../lib/deps';
import { createPipelineAction } from './createPipeline';
import { createRepoAction } from './createRepo';
import { createFirstDeployAction } from './firstDeploy';
import { createValidateAction } from './validate';

export { createValidateAction, VALIDATE_ACTION_ID } from './validate';
export { createRepoAction, CREATE_REPO_ACTION_ID } from './createRepo';
export {
  createPipelineAction,
  CREATE_PIPELINE_ACTION_ID,
} from './createPipeline';
export { createFirstDeployAction, FIRST_DEPLOY_ACTION_ID } from './firstDeploy';

/** All golden-path actions, in the order the template runs them. */
export function createGoldenPathActions(deps: GoldenPathDeps) {
  return [
    createValidateAction(deps),
    createRepoAction(deps),
    createPipelineAction(deps),
    createFirstDeployAction(deps),
  ];
}
