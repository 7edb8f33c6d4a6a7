/**
 * Free text is data, never structure. Every free-text field that can reach a commit message, a
 * trailer, a notification or a log passes {@link invalidFreeTextReason} on the server (and may be
 * checked early by the portal and the CLI with the same function).
 */

/** Options of {@link invalidFreeTextReason}. */
export interface FreeTextOptions {
  /** Whether the field may hold newlines (`\n`; `\r` is always refused). Default false. */
  multiline?: boolean;
  /** Longest accepted value in characters. Default 2000 (multiline) or 255 (single line). */
  maxLength?: number;
  /**
   * Whether lines that git would read as trailers (`Key: value`) are accepted. Default false.
   * Only for text that never enters a commit message of the release manager (e.g. the
   * application commit's own message, stored as JSON data in artifact.json).
   */
  allowTrailerLines?: boolean;
  /** Whether the field must be a `http(s)://` URL. Default false. */
  url?: boolean;
  /** Whether an empty (or blank) value is refused. Default false. */
  required?: boolean;
}

/** Default length limits. */
export const FREE_TEXT_LIMITS = { singleLine: 255, multiline: 2000 } as const;

/**
 * Control characters other than `\n`, `\r` and `\t` (C0, DEL, C1), Unicode line and paragraph
 * separators, and bidirectional overrides/isolates (text that displays differently from what it is).
 */
// eslint-disable-next-line no-control-regex
const FORBIDDEN = /[\u0000-\u0008\u000B-\u000C\u000E-\u001F\u007F-\u009F\u2028\u2029\u202A-\u202E\u2066-\u2069\uFEFF]/;

/**
 * A line git (`interpret-trailers`, `%(trailers)`) or a reader of trailers would take as a trailer:
 * `Token: value` / `Token:` with an alphanumeric-and-dash token, optionally indented, and git's
 * own special trailers.
 */
const TRAILER_LINE = /^[ \t]*[A-Za-z0-9][A-Za-z0-9_-]*[ \t]*:/;
const GIT_SPECIAL_LINE = /^[ \t]*(\(cherry picked from commit |---[ \t]*$|Signed-off-by\b|Co-authored-by\b)/i;

function describeChar(ch: string): string {
  const cp = ch.codePointAt(0)!;
  return `U+${cp.toString(16).toUpperCase().padStart(4, '0')}`;
}

/**
 * Returns why `value` is not acceptable as the free-text field `field`, else undefined.
 * `undefined` is acceptable unless `required`; everything else must be a string.
 * The reason always starts with the field name, so a 400 names the field.
 */
export function invalidFreeTextReason(
  field: string,
  value: unknown,
  options: FreeTextOptions = {},
): string | undefined {
  if (value === undefined || value === null) {
    return options.required ? `${field} is required` : undefined;
  }
  if (typeof value !== 'string') return `${field} must be a string`;
  if (options.required && value.trim().length === 0) return `${field} is required`;
  const max =
    options.maxLength ?? (options.multiline ? FREE_TEXT_LIMITS.multiline : FREE_TEXT_LIMITS.singleLine);
  if (value.length > max) return `${field} is too long: at most ${max} characters`;
  const bad = FORBIDDEN.exec(value);
  if (bad) {
    return `${field} contains the control character ${describeChar(bad[0])}: free text may not hold control, separator or direction-override characters`;
  }
  if (value.includes('\r')) {
    return `${field} contains a carriage return (U+000D): ${options.multiline ? 'use \\n for new lines' : 'it must be a single line'}`;
  }
  if (!options.multiline && value.includes('\n')) return `${field} must be a single line`;
  if (!options.allowTrailerLines && !options.url) {
    for (const line of value.split('\n')) {
      if (TRAILER_LINE.test(line) || GIT_SPECIAL_LINE.test(line)) {
        const shown = JSON.stringify(line.length > 60 ? `${line.slice(0, 60)}…` : line);
        return `${field} has a line that reads as a commit trailer (${shown}): write it without a 'Key:' prefix`;
      }
    }
  }
  if (options.url && value !== '' && !/^https?:\/\/[^\s]+$/i.test(value)) {
    return `${field} must be an http(s) URL`;
  }
  return undefined;
}
