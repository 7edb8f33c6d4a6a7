import type { Command } from 'commander';
import { apiUrl, Environment as World } from '../context';
import { CliError, ExitCode } from '../errors';
import { backendUrlOf, configDir, readLogin, removeLogin, writeLogin } from '../login/credentials';
import { browserLogin } from '../login/oauth';
import { Output, formatTime } from '../output';

/** `login` (browser sign-in, token kept with mode 0600) and `logout`. */
export function registerLoginCommands(program: Command, world: World): void {
  program
    .command('login')
    .description(
      'sign in to the portal in your browser; the token is kept for later commands (for CI use --token)',
    )
    .option('--no-browser', 'print the sign-in URL instead of opening a browser')
    .option('--status', 'show who is signed in, without signing in')
    .action(async (opts, cmd: Command) => {
      const globals = cmd.optsWithGlobals<{ json?: boolean }>();
      const out = new Output(world.io, Boolean(globals.json));
      const backend = backendOf(world, cmd);
      const dir = configDir(world.env);
      if (opts.status) {
        const login = readLogin(dir, backend);
        if (!login) {
          throw new CliError(`not signed in to ${backend}; run release-manager login`, ExitCode.Refused);
        }
        const expired = Date.parse(login.expiresAt) <= Date.now();
        out.result(
          { backendUrl: backend, user: login.user, expiresAt: login.expiresAt, expired, refreshable: Boolean(login.refreshToken) },
          () => [
            `signed in to ${backend} as ${login.user ?? 'unknown user'}`,
            `  token ${expired ? 'expired' : 'valid until'} ${formatTime(login.expiresAt)}${
              login.refreshToken ? ' (renewed automatically)' : ''
            }`,
          ],
        );
        return;
      }
      const login = await browserLogin(backend, {
        fetch: world.fetch ?? fetch,
        note: line => out.note(line),
        openBrowser: opts.browser === false ? undefined : world.openBrowser,
      });
      writeLogin(dir, login);
      out.result(
        { backendUrl: backend, user: login.user, expiresAt: login.expiresAt },
        () => `signed in to ${backend} as ${login.user ?? 'unknown user'}`,
      );
    });

  program
    .command('logout')
    .description('forget the token kept by login for this portal')
    .action(async (_opts, cmd: Command) => {
      const globals = cmd.optsWithGlobals<{ json?: boolean }>();
      const out = new Output(world.io, Boolean(globals.json));
      const backend = backendOf(world, cmd);
      const removed = removeLogin(configDir(world.env), backend);
      out.result({ backendUrl: backend, removed }, () =>
        removed ? `signed out of ${backend}` : `was not signed in to ${backend}`,
      );
    });
}

function backendOf(world: World, cmd: Command): string {
  const url = apiUrl(world, cmd);
  try {
    return backendUrlOf(url);
  } catch {
    throw new CliError(`--url '${url}' is not a URL`, ExitCode.Usage);
  }
}
