import type { Command } from 'commander';
import { ReleaseManagerClient, DEFAULT_URL } from './client';
import { Io, Output } from './output';
import { resolveService } from './shuttle';

/** What the program runs against: the outside world, injectable for tests. */
export interface Environment {
  io: Io;
  cwd: string;
  env: Record<string, string | undefined>;
  fetch?: typeof fetch;
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
}

export function createContext(
  world: Environment,
  command: Command,
): CommandContext {
  const globals = command.optsWithGlobals<GlobalOptions>();
  const client = new ReleaseManagerClient({
    baseUrl: globals.url || world.env.RELEASE_MANAGER_URL || DEFAULT_URL,
    token: globals.token || world.env.RELEASE_MANAGER_TOKEN || undefined,
    fetch: world.fetch,
  });
  return {
    client,
    out: new Output(world.io, Boolean(globals.json)),
    cwd: world.cwd,
    service: flag => resolveService(flag, world.cwd),
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
