import { CliError } from './errors';

/** Where a command writes. Tests pass buffers; the launcher passes process streams. */
export interface Io {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

/** Human vs `--json` output for one command run. */
export class Output {
  constructor(private readonly io: Io, readonly json: boolean) {}

  /** Prints the raw API response with `--json`, else the human rendering. */
  result(raw: unknown, human: () => string | string[]): void {
    if (this.json) {
      this.io.stdout(`${JSON.stringify(raw ?? null, null, 2)}\n`);
      return;
    }
    const text = human();
    const lines = Array.isArray(text) ? text : [text];
    this.io.stdout(lines.map(l => `${l}\n`).join(''));
  }

  /** A line on stderr (progress, hints); never mixed into `--json` stdout. */
  note(line: string): void {
    this.io.stderr(`${line}\n`);
  }

  /** Reports a failure: plain words on stderr, plus the error body on stdout with `--json`. */
  failure(error: CliError): void {
    this.io.stderr(`release-manager: ${error.message}\n`);
    if (this.json) {
      const body = error.body ?? {
        error: { name: 'CliError', message: error.message },
      };
      this.io.stdout(
        `${JSON.stringify(
          { ...(body as object), exitCode: error.exitCode },
          null,
          2,
        )}\n`,
      );
    }
  }
}

/** Aligned columns, two spaces apart, upper-case headers, no trailing spaces. */
export function table(
  headers: string[],
  rows: Array<Array<string | undefined>>,
): string[] {
  const cells = [
    headers.map(h => h.toUpperCase()),
    ...rows.map(r => r.map(c => c ?? '-')),
  ];
  const widths = headers.map((_, i) =>
    Math.max(...cells.map(r => (r[i] ?? '').length)),
  );
  return cells.map(r =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd(),
  );
}

/** `key: value` lines with aligned values; undefined values are skipped. */
export function fields(
  pairs: Array<[string, string | number | boolean | undefined]>,
): string[] {
  const shown = pairs.filter(([, v]) => v !== undefined && v !== '');
  const width = Math.max(0, ...shown.map(([k]) => k.length + 1));
  return shown.map(([k, v]) => `${`${k}:`.padEnd(width)}  ${String(v)}`);
}

/** `2024-05-01T10:22:33.000Z` → `2024-05-01 10:22 UTC`; stable across time zones. */
export function formatTime(iso: string | undefined): string | undefined {
  if (!iso) return undefined;
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

/** First line of a commit message. */
export function firstLine(text: string | undefined): string | undefined {
  return text?.split('\n')[0];
}

/** Short form of a commit sha. */
export function shortSha(sha: string | undefined): string | undefined {
  return sha ? sha.slice(0, 7) : undefined;
}
