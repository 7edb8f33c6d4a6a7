import type { Command, Option } from 'commander';
import { Environment as World } from '../context';
import { usageError } from '../errors';

/** A command path (e.g. `policy apply auto-release`) with its subcommands and flags. */
interface Node {
  path: string[];
  subcommands: string[];
  flags: string[];
}

function walk(command: Command, path: string[], out: Node[]): void {
  const subs = command.commands.filter(c => c.name() !== 'help');
  out.push({
    path,
    subcommands: subs.flatMap(c => [c.name(), ...c.aliases()]),
    flags: command.options.flatMap((o: Option) =>
      [o.long, o.short].filter((f): f is string => Boolean(f)),
    ),
  });
  for (const sub of subs) {
    for (const name of [sub.name(), ...sub.aliases()]) walk(sub, [...path, name], out);
  }
}

/** Words offered after `path`: subcommands first, then flags (plus the global flags). */
function table(program: Command): Array<{ key: string; words: string }> {
  const nodes: Node[] = [];
  walk(program, [], nodes);
  const globals = nodes[0].flags;
  return nodes.map(n => ({
    key: n.path.join(' '),
    words: [...n.subcommands, ...n.flags, ...(n.path.length ? globals : []), '--help'].join(' '),
  }));
}

/** The bash completion script (also loaded by zsh through bashcompinit). */
export function bashScript(program: Command, bin: string): string {
  const fn = `_${bin.replace(/[^A-Za-z0-9_]/g, '_')}_complete`;
  const cases = table(program)
    .map(({ key, words }) => `    "${key}") words="${words}" ;;`)
    .join('\n');
  return `# ${bin} completion for bash. Install: source <(${bin} completion bash)
# or: ${bin} completion bash > /etc/bash_completion.d/${bin}
${fn}() {
  local cur path w i
  cur="\${COMP_WORDS[COMP_CWORD]}"
  path=""
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    case "$w" in
      -*) ;;
      *)
        # a word after a flag that takes a value is that value, not a command
        case "\${COMP_WORDS[i-1]}" in
          --service|--env|-e|--artifact|--branch|-b|--from|--to|--reason|--override-freeze|--url|--token|--count|--regex|--id|--spec|--manifests|--limit|--cursor) ;;
          *) path="\${path:+$path }$w" ;;
        esac
        ;;
    esac
  done
  local words=""
  case "$path" in
${cases}
  esac
  case "\${COMP_WORDS[COMP_CWORD-1]}" in
    --env|-e|--from|--to) words="dev staging prod" ;;
  esac
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -F ${fn} ${bin}
`;
}

/** The zsh completion script: the bash one through zsh's bashcompinit. */
export function zshScript(program: Command, bin: string): string {
  return `# ${bin} completion for zsh. Install: source <(${bin} completion zsh)  (e.g. in ~/.zshrc)
autoload -U +X bashcompinit && bashcompinit
${bashScript(program, bin)}`;
}

/** `completion bash|zsh`: prints the shell completion script. */
export function registerCompletionCommand(program: Command, world: World): void {
  program
    .command('completion')
    .description('print the shell completion script: source <(release-manager completion bash)')
    .argument('<shell>', 'bash or zsh')
    .action((shell: string) => {
      const bin = program.name();
      if (shell === 'bash') world.io.stdout(bashScript(program, bin));
      else if (shell === 'zsh') world.io.stdout(zshScript(program, bin));
      else throw usageError(`completion for '${shell}' is not available: use bash or zsh`);
    });
}
