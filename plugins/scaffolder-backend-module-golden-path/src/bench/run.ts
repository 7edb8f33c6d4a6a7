/* eslint-disable no-console */
// Prints the golden path bench table. Run from the package directory:
//   node --require @backstage/cli/config/nodeTransform.cjs src/bench/run.ts [iterations] [kind]
import { formatGoldenPathBench, runGoldenPathBench } from './goldenPathBench';
import { ServiceKind } from '../lib/names';

runGoldenPathBench({
  iterations: Number(process.argv[2] ?? 5),
  kind: (process.argv[3] as ServiceKind) ?? 'node',
})
  .then(result => console.log(formatGoldenPathBench(result)))
  .catch(e => {
    console.error(e);
    process.exitCode = 1;
  });
