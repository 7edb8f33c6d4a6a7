/**
 * `release-manager`: a hamctl-style command line for the release manager REST API.
 *
 * @packageDocumentation
 */
import { Command, CommanderError } from 'commander';
import { registerApprovalCommands } from './commands/approvals';
import { registerArtifactCommands } from './commands/artifact';
import { registerAuditCommands } from './commands/audit';
import { registerCompletionCommand } from './commands/completion';
import { registerLoginCommands } from './commands/login';
import { registerPolicyCommands } from './commands/policy';
import { registerReleaseCommands } from './commands/release';
import { registerStatusCommands } from './commands/status';
import { Environment } from './context';
import { CliError, ExitCode } from './errors';
import { Output } from './output';

export { ExitCode, CliError } from './errors';
export { ReleaseManagerClient, DEFAULT_URL, exitCodeFor } from './client';
export type { Environment } from './context';

/** Builds the command tree; nothing runs until it is parsed. */
export function createProgram(world: Environment): Command {
  const program = new Command('release-manager')
    .description(
      'Release, promote and roll back services through the release manager (GitOps).\n' +
        'The service defaults to vars.service in the nearest shuttle.yaml.',
    )
    .option(
      '--url <url>',
      'release manager API base URL (env RELEASE_MANAGER_URL)',
    )
    .option(
      '--token <token>',
      'bearer token, e.g. a static external access token (env RELEASE_MANAGER_TOKEN)',
    )
    .option('--json', 'print the raw API response as JSON')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({
      writeOut: text => world.io.stdout(text),
      writeErr: text => world.io.stderr(text),
      outputError: (text, write) =>
        write(`release-manager: ${text.replace(/^error: /, '')}`),
    })
    .exitOverride();

  registerReleaseCommands(program, world);
  registerStatusCommands(program, world);
  registerPolicyCommands(program, world);
  registerApprovalCommands(program, world);
  registerArtifactCommands(program, world);
  registerAuditCommands(program, world);
  registerLoginCommands(program, world);
  registerCompletionCommand(program, world);
  return program;
}

/**
 * Runs one command line (`argv` without `node` and the script name) and returns the exit code.
 * Never calls `process.exit`; the launcher does.
 */
export async function run(argv: string[], world: Environment): Promise<number> {
  const program = createProgram(world);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return ExitCode.Ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // help and --version exit 0; every other parse failure is a usage error
      return error.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage;
    }
    const out = new Output(world.io, argv.includes('--json'));
    if (error instanceof CliError) {
      out.failure(error);
      return error.exitCode;
    }
    out.failure(
      new CliError(
        `unexpected error: ${(error as Error)?.stack ?? String(error)}`,
        ExitCode.Error,
      ),
    );
    return ExitCode.Error;
  }
}

/** Entry point of `bin/release-manager`. */
export async function main(): Promise<void> {
  const code = await run(process.argv.slice(2), {
    io: {
      stdout: text => process.stdout.write(text),
      stderr: text => process.stderr.write(text),
    },
    cwd: process.cwd(),
    env: process.env,
    interactive: Boolean(process.stdin.isTTY && process.stdout.isTTY),
    prompt: askOnTerminal,
    openBrowser,
  });
  process.exitCode = code;
}

/** One line from the terminal (the rollback picker). */
async function askOnTerminal(question: string): Promise<string> {
  const readline = await import('node:readline/promises');
  const rl = readline.createInterface({ input: process.stdin, output: process.stderr });
  try {
    return await rl.question(question);
  } finally {
    rl.close();
  }
}

/** Opens a URL with the desktop's opener; failures are silent (the URL is printed too). */
function openBrowser(url: string): void {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { spawn } = require('node:child_process') as typeof import('node:child_process');
  let command: string;
  let args: string[];
  if (process.platform === 'darwin') {
    command = 'open';
    args = [url];
  } else if (process.platform === 'win32') {
    command = 'rundll32';
    args = ['url.dll,FileProtocolHandler', url];
  } else {
    command = 'xdg-open';
    args = [url];
  }
  const child = spawn(command, args, { stdio: 'ignore', detached: true });
  child.on('error', () => {});
  child.unref();
}
