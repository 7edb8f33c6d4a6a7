/**
 * A small line-based unified diff (LCS), enough for Kubernetes manifests. Files larger than
 * the LCS budget are shown as a full replacement.
 */
type Op = { kind: ' ' | '-' | '+'; line: string };

const MAX_CELLS = 4_000_000;

function splitLines(text: string): string[] {
  if (text === '') return [];
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

function diffOps(a: string[], b: string[]): Op[] {
  // Trim common prefix and suffix first; most manifest changes are small.
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const midA = a.slice(start, endA);
  const midB = b.slice(start, endB);
  const ops: Op[] = a.slice(0, start).map(line => ({ kind: ' ', line }));
  if ((midA.length + 1) * (midB.length + 1) > MAX_CELLS) {
    ops.push(...midA.map(line => ({ kind: '-' as const, line })));
    ops.push(...midB.map(line => ({ kind: '+' as const, line })));
  } else {
    const n = midA.length;
    const m = midB.length;
    const lcs = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
    for (let i = n - 1; i >= 0; i--) {
      for (let j = m - 1; j >= 0; j--) {
        lcs[i][j] = midA[i] === midB[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
      }
    }
    let i = 0;
    let j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && midA[i] === midB[j]) {
        ops.push({ kind: ' ', line: midA[i] });
        i++;
        j++;
      } else if (i < n && (j === m || lcs[i + 1][j] >= lcs[i][j + 1])) {
        ops.push({ kind: '-', line: midA[i++] });
      } else {
        ops.push({ kind: '+', line: midB[j++] });
      }
    }
  }
  ops.push(...a.slice(endA).map(line => ({ kind: ' ' as const, line })));
  return ops;
}

/** Unified diff of two texts with `context` lines around changes; '' when equal. */
export function unifiedDiff(
  oldPath: string,
  newPath: string,
  oldText: string,
  newText: string,
  context = 3,
): string {
  if (oldText === newText) return '';
  const ops = diffOps(splitLines(oldText), splitLines(newText));
  const out = [`--- ${oldPath}`, `+++ ${newPath}`];
  let idx = 0;
  // positions in old/new for each op
  const pos: Array<{ a: number; b: number }> = [];
  let a = 1;
  let b = 1;
  for (const op of ops) {
    pos.push({ a, b });
    if (op.kind !== '+') a++;
    if (op.kind !== '-') b++;
  }
  while (idx < ops.length) {
    while (idx < ops.length && ops[idx].kind === ' ') idx++;
    if (idx >= ops.length) break;
    const hunkStart = Math.max(0, idx - context);
    let end = idx;
    let lastChange = idx;
    while (end < ops.length) {
      if (ops[end].kind !== ' ') lastChange = end;
      else if (end - lastChange > context * 2) break;
      end++;
    }
    const hunkEnd = Math.min(ops.length, lastChange + context + 1);
    const slice = ops.slice(hunkStart, hunkEnd);
    const oldCount = slice.filter(o => o.kind !== '+').length;
    const newCount = slice.filter(o => o.kind !== '-').length;
    const oldStart = oldCount ? pos[hunkStart].a : pos[hunkStart].a - 1;
    const newStart = newCount ? pos[hunkStart].b : pos[hunkStart].b - 1;
    out.push(`@@ -${oldStart},${oldCount} +${newStart},${newCount} @@`);
    for (const o of slice) out.push(`${o.kind}${o.line}`);
    idx = hunkEnd;
  }
  return `${out.join('\n')}\n`;
}
