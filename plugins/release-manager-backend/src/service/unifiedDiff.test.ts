import { unifiedDiff } from './unifiedDiff';

describe('unifiedDiff', () => {
  it('is empty for equal texts', () => {
    expect(unifiedDiff('a/x', 'b/x', 'a\nb\n', 'a\nb\n')).toBe('');
  });

  it('produces hunks with context, deletions before additions', () => {
    const old = `${['1', '2', '3', '4', '5', '6', '7', '8', '9', '10'].join('\n')}\n`;
    const neu = `${['1', '2', '3', '4', 'five', '6', '7', '8', '9', '10', '11'].join('\n')}\n`;
    expect(unifiedDiff('a/x', 'b/x', old, neu)).toBe(
      [
        '--- a/x',
        '+++ b/x',
        '@@ -2,9 +2,10 @@',
        ' 2',
        ' 3',
        ' 4',
        '-5',
        '+five',
        ' 6',
        ' 7',
        ' 8',
        ' 9',
        ' 10',
        '+11',
        '',
      ].join('\n'),
    );
  });

  it('handles added and removed files', () => {
    expect(unifiedDiff('/dev/null', 'b/x', '', 'a\n')).toBe('--- /dev/null\n+++ b/x\n@@ -0,0 +1,1 @@\n+a\n');
    expect(unifiedDiff('a/x', '/dev/null', 'a\nb\n', '')).toBe('--- a/x\n+++ /dev/null\n@@ -1,2 +0,0 @@\n-a\n-b\n');
  });

  it('splits distant changes into separate hunks', () => {
    const lines = Array.from({ length: 30 }, (_, i) => `l${i}`);
    const changed = [...lines];
    changed[2] = 'X';
    changed[27] = 'Y';
    const out = unifiedDiff('a', 'b', `${lines.join('\n')}\n`, `${changed.join('\n')}\n`);
    expect(out.match(/^@@/gm)).toHaveLength(2);
    expect(out).toContain('@@ -1,6 +1,6 @@');
    expect(out).toContain('@@ -25,6 +25,6 @@');
  });
});
