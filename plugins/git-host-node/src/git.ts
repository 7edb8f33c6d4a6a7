import { spawn } from 'node:child_process';

/** Result of a git invocation. */
export interface GitResult {
  stdout: string;
  stderr: string;
}

/** Options for {@link runGit}. */
export interface RunGitOptions {
  cwd?: string;
  env?: Record<string, string | undefined>;
  input?: string | Buffer;
  /** Kill git after this many milliseconds (default 60 s). */
  timeoutMs?: number;
  /** Return stdout as a Buffer-decoded string in this encoding (default utf8). */
  encoding?: BufferEncoding;
}

/** Error thrown when git exits non-zero; carries git's own words. */
export class GitCommandError extends Error {
  readonly args: string[];
  readonly exitCode: number | null;
  readonly stderr: string;
  readonly stdout: string;
  constructor(args: string[], exitCode: number | null, stdout: string, stderr: string) {
    super(
      `git ${args[0] ?? ''} failed (exit ${exitCode}): ${stderr.trim() || stdout.trim()}`,
    );
    this.name = 'GitCommandError';
    this.args = args;
    this.exitCode = exitCode;
    this.stderr = stderr;
    this.stdout = stdout;
  }
}

/**
 * An environment for git that never reads the user's global configuration, never prompts,
 * and has a fixed identity unless the caller sets one.
 */
export function gitEnv(extra?: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    LANG: 'C',
    GIT_TERMINAL_PROMPT: '0',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_AUTHOR_NAME: 'Developer Control Plane',
    GIT_AUTHOR_EMAIL: 'devplane@localhost',
    GIT_COMMITTER_NAME: 'Developer Control Plane',
    GIT_COMMITTER_EMAIL: 'devplane@localhost',
  };
  for (const [k, v] of Object.entries(extra ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

function spawnGit(
  args: string[],
  options: RunGitOptions,
): Promise<{ stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, {
      cwd: options.cwd,
      env: gitEnv(options.env),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    child.stdout.on('data', d => out.push(d));
    child.stderr.on('data', d => err.push(d));
    child.on('error', e => {
      clearTimeout(timer);
      reject(e);
    });
    child.on('close', code => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out);
      const stderr = Buffer.concat(err).toString('utf8');
      if (code === 0) resolve({ stdout, stderr });
      else reject(new GitCommandError(args, code, stdout.toString('utf8'), stderr));
    });
    child.stdin.on('error', () => {});
    child.stdin.end(options.input);
  });
}

/** Runs the git CLI without a shell. Arguments are passed as an array and never interpreted. */
export async function runGit(args: string[], options: RunGitOptions = {}): Promise<GitResult> {
  const { stdout, stderr } = await spawnGit(args, options);
  return { stdout: stdout.toString(options.encoding ?? 'utf8'), stderr };
}

/** Runs git and returns stdout as raw bytes (for blobs). */
export async function runGitBuffer(args: string[], options: RunGitOptions = {}): Promise<Buffer> {
  return (await spawnGit(args, options)).stdout;
}
