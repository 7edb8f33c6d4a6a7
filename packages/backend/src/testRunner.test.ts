import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

// scripts/test-all.js (`./dev test`) is not a workspace package; its counting of e2e files is
// tested here so `backstage-cli repo test` runs it. Requiring it runs nothing (require.main).
// eslint-disable-next-line @backstage/no-relative-monorepo-imports
const { e2eFileOutcome, runE2eFile } = require('../../../scripts/test-all.js');

describe('e2e file outcome (scripts/test-all.js)', () => {
  let dir: string;
  let resultFile: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'e2e-outcome-'));
    resultFile = path.join(dir, 'x.e2e.js.json');
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
  const writeResult = (r: unknown) => fs.writeFileSync(resultFile, JSON.stringify(r));

  it('counts a file that crashed without writing its result as one failure', () => {
    expect(e2eFileOutcome(resultFile, 1)).toEqual({
      passed: 0,
      failed: 1,
      note: 'crashed before writing its result (exit 1)',
    });
    // killed by a signal: no exit code at all
    expect(e2eFileOutcome(resultFile, null)).toMatchObject({ passed: 0, failed: 1 });
  });

  it('never counts a result left by an earlier run', async () => {
    writeResult({ passed: 7, failed: 0 });
    const crashed = await runE2eFile(resultFile, async () => {
      // the file runs after the stale result was removed, and dies before writing its own
      expect(fs.existsSync(resultFile)).toBe(false);
      return 1;
    });
    expect(crashed).toEqual({ passed: 0, failed: 1, note: 'crashed before writing its result (exit 1)' });
    // even an exit 0 without a result of this run is no pass
    writeResult({ passed: 7, failed: 0 });
    expect(await runE2eFile(resultFile, async () => 0)).toMatchObject({ passed: 0, failed: 1 });
  });

  it('counts a non-zero exit after a result with no failed test as a failure', () => {
    writeResult({ passed: 3, failed: 0 });
    expect(e2eFileOutcome(resultFile, 1)).toEqual({ passed: 3, failed: 1, note: 'exited 1 after its tests' });
    expect(e2eFileOutcome(resultFile, null)).toMatchObject({ passed: 3, failed: 1 });
  });

  it('counts an unreadable result (a crash while writing it) as a failure', () => {
    fs.writeFileSync(resultFile, '{"passed": 3, "fail');
    expect(e2eFileOutcome(resultFile, 0)).toMatchObject({ passed: 0, failed: 1 });
    writeResult({ passed: '3' });
    expect(e2eFileOutcome(resultFile, 0)).toMatchObject({ passed: 0, failed: 1 });
  });

  it('counts what the file reported when it ran to the end', async () => {
    const ranTo = (result: unknown, exitCode: number) => async () => {
      writeResult(result);
      return exitCode;
    };
    expect(await runE2eFile(resultFile, ranTo({ passed: 4, failed: 0 }, 0))).toEqual({ passed: 4, failed: 0 });
    expect(await runE2eFile(resultFile, ranTo({ passed: 1, failed: 2 }, 1))).toEqual({ passed: 1, failed: 2 });
  });
});
