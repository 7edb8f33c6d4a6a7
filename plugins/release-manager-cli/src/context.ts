import type { Command } from 'commander';
import { ReleaseManagerClient, DEFAULT_URL } from './client';
import { Io, Output } from './output';
import { backendUrlOf, configDir, readLogin, writeLogin } from './login/credentials';
import { refreshLogin } from './login/oauth';
import { resolveService } from './shuttle';

/** What the program runs against: the outside world, injectable for tests. */
export interface Environment {
  io: Io;
  cwd: string;
  env: Record<string, string | undefined>;
  fetch?: typeof fetch;
  /** stdin and stdout are a terminal: commands may ask (e.g. the rollback picker). */
  interactive?: boolean;
  /** Asks one question on the terminal and returns the typed line. */
  prompt?: (question: string) => Promise<string>;
  /** Opens a URL in the person's browser (login). */
  openBrowser?: (url: string) => void;
}

/** Global flags, valid before or after the command name. */
export interface GlobalOptions {
  url?: string;
  token?: string;
  json?: boolean;
}

/** Everything a command action needs. */
export interface CommandContext {
  client: ReleaseManagerClient;
  out: Output;
  cwd: string;
  /** `--service`, else shuttle.yaml, validated. */
  service(flag: string | undefined): string;
  /** The name the command was called by (its name or an alias, e.g. `releases`). */
  invokedAs: string;
}

/** The release manager API URL: `--url`, `RELEASE_MANAGER_URL`, or the local default. */
export function apiUrl(world: Environment, command: Command): string {
  const globals = command.optsWithGlobals<GlobalOptions>();
  return globals.url || world.env.RELEASE_MANAGER_URL || DEFAULT_URL;
}

/** The stored login's access token for this backend, refreshed when it is about to expire. */
async function storedToken(world: Environment, baseUrl: string): Promise<string | undefined> {
  let backend: string;
  try {
    backend = backendUrlOf(baseUrl);
  } catch {
    return undefined;
  }
  const dir = configDir(world.env);
  const login = readLogin(dir, backend);
  if (!login) return undefined;
  if (Date.parse(login.expiresAt) - Date.now() > 60_000) return login.accessToken;
  const renewed = await refreshLogin(login, { fetch: world.fetch ?? fetch });
  if (!renewed) return undefined; // expired: the server's 401 says to run login
  writeLogin(dir, renewed);
  return renewed.accessToken;
}

/** Which of a command's names appears on the command line (aliases such as `releases`). */
function invokedName(command: Command): string {
  const names = [command.name(), ...command.aliases()];
  const parentArgs: string[] = (command.parent as any)?.args ?? [];
  const raw: string[] = (command.parent as any)?.rawArgs ?? [];
  const seen = [...parentArgs, ...raw];
  return names.find(n => n !== command.name() && seen.includes(n)) ?? command.name();
}

export function createContext(
  world: Environment,
  command: Command,
): CommandContext {
  const globals = command.optsWithGlobals<GlobalOptions>();
  const baseUrl = apiUrl(world, command);
  const explicit = globals.token || world.env.RELEASE_MANAGER_TOKEN || undefined;
  const client = new ReleaseManagerClient({
    baseUrl,
    // --token / RELEASE_MANAGER_TOKEN (CI), else the sign-in kept by `release-manager login`
    token: explicit ?? (() => storedToken(world, baseUrl)),
    fetch: world.fetch,
  });
  return {
    client,
    out: new Output(world.io, Boolean(globals.json)),
    cwd: world.cwd,
    service: flag => resolveService(flag, world.cwd),
    invokedAs: invokedName(command),
  };
}

/** `parent <name>` with `--service` as its first option. */
export function serviceCommand(
  parent: Command,
  name: string,
  description: string,
): Command {
  return parent
    .command(name)
    .description(description)
    .option('--service <name>', 'service (default: from shuttle.yaml)');
}

/** Action of a service command: gets the context and the service (`--service`, else shuttle.yaml). */
export function withService(
  world: Environment,
  action: (opts: any, ctx: CommandContext, service: string) => Promise<void>,
): (opts: any, cmd: Command) => Promise<void> {
  return async (opts, cmd) => {
    const ctx = createContext(world, cmd);
    await action(opts, ctx, ctx.service(opts.service));
  };
}
