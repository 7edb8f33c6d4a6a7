import { formatGoldenPathBench, runGoldenPathBench } from './goldenPathBench';

jest.setTimeout(120_000);

describe('runGoldenPathBench', () => {
  it('runs the whole chain and reports a production release per run', async () => {
    const result = await runGoldenPathBench({ iterations: 1, kind: 'go' });
    expect(result.runs).toHaveLength(1);
    expect(result.runs[0].releaseId).toMatch(/^[0-9a-f]{40}$/);
    expect(formatGoldenPathBench(result)).toMatch(/^total\s+\d+/m);
  });
});
