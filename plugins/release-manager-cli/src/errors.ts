/**
 * Exit codes scripts can rely on. Documented in the package README; do not renumber.
 */
export const ExitCode = {
  /** Success, including a release that had nothing to do. */
  Ok: 0,
  /** Unexpected error, or a server error (5xx). */
  Error: 1,
  /** Bad flags, invalid names or spec, or the server answered 400. */
  Usage: 2,
  /** The server answered 404 (unknown service, artifact, environment, policy). */
  NotFound: 3,
  /** Not signed in / not allowed (401, 403), or refused by a branch restriction. */
  Refused: 4,
  /** The server answered 409 (conflicting policy, concurrent change). */
  Conflict: 5,
  /** The server could not be reached (connection refused, DNS, timeout). */
  Unreachable: 6,
} as const;

export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/** An error the CLI reports in plain words and exits with `exitCode`. */
export class CliError extends Error {
  readonly exitCode: ExitCodeValue;
  /** Raw JSON error body from the server, printed on stdout with `--json`. */
  readonly body?: unknown;

  constructor(message: string, exitCode: ExitCodeValue, body?: unknown) {
    super(message);
    this.name = 'CliError';
    this.exitCode = exitCode;
    this.body = body;
  }
}

/** A usage / validation error found before anything was sent. */
export function usageError(message: string): CliError {
  return new CliError(message, ExitCode.Usage);
}
