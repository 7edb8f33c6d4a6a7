import fs from 'node:fs';
import { once } from 'node:events';
import { StringDecoder } from 'node:string_decoder';
import type { Command } from 'commander';
import { createContext, Environment as World } from '../context';
import { usageError } from '../errors';
import { checkedName } from '../shuttle';

const DATE = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2}))?$/;

function checkedDate(flag: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!DATE.test(value)) throw usageError(`${flag}: '${value.slice(0, 40)}' is not a date (YYYY-MM-DD, or an ISO timestamp with a zone)`);
  return value;
}

/** `audit export`: the auditor's export, streamed to stdout or a file as it downloads. */
export function registerAuditCommands(program: Command, world: World): void {
  const audit = program.command('audit').description("the auditor's export: every change to an environment, from git");
  audit
    .command('export')
    .description('download every change in a date range as CSV or NDJSON (streamed)')
    .option('--format <format>', 'csv or ndjson', 'csv')
    .option('--from <date>', 'first day (YYYY-MM-DD, inclusive; default 30 days before --to)')
    .option('--to <date>', 'last day (YYYY-MM-DD, inclusive; default today)')
    .option('--env <environment>', 'only this environment')
    .option('--service <name>', 'only this service')
    .option('--squad <name>', "only the squad's services (catalog ownership)")
    .option('-o, --output <file>', 'write to this file instead of stdout')
    .action(async (opts, cmd) => {
      const ctx = createContext(world, cmd);
      if (opts.format !== 'csv' && opts.format !== 'ndjson') throw usageError(`--format: '${String(opts.format).slice(0, 20)}' is not csv or ndjson`);
      if (opts.service !== undefined && opts.squad !== undefined) throw usageError('give --service or --squad, not both');
      const query = {
        format: opts.format as 'csv' | 'ndjson',
        from: checkedDate('--from', opts.from),
        to: checkedDate('--to', opts.to),
        environment: opts.env === undefined ? undefined : checkedName('environment', opts.env),
        service: opts.service === undefined ? undefined : checkedName('service', opts.service),
        squad: opts.squad === undefined ? undefined : checkedName('squad', opts.squad),
      };
      if (opts.output) {
        // opened when the first bytes arrive (a refusal leaves no file); a partial file is
        // removed: an auditor must not mistake it for the export
        let file: fs.WriteStream | undefined;
        let failed: Error | undefined;
        try {
          await ctx.client.streamAuditExport(query, async chunk => {
            if (!file) {
              file = fs.createWriteStream(opts.output, { flags: 'w' });
              file.on('error', e => {
                failed = e;
              });
            }
            if (failed) throw failed;
            if (!file.write(chunk)) await Promise.race([once(file, 'drain'), once(file, 'close')]);
          });
          file ??= fs.createWriteStream(opts.output, { flags: 'w' });
          file.end();
          await once(file, 'close');
          if (failed) throw failed;
        } catch (error) {
          if (file) {
            file.destroy();
            fs.rmSync(opts.output, { force: true });
          }
          throw error;
        }
        world.io.stderr(`wrote ${opts.output}\n`);
        return;
      }
      const decoder = new StringDecoder('utf8');
      await ctx.client.streamAuditExport(query, chunk => {
        const text = decoder.write(Buffer.from(chunk));
        if (text) world.io.stdout(text);
      });
      const rest = decoder.end();
      if (rest) world.io.stdout(rest);
    });
}
