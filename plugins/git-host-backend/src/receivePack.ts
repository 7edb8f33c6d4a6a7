import zlib from 'node:zlib';
import type { Readable } from 'node:stream';

/** One ref update command at the head of a receive-pack request. */
export interface RefUpdateCommand {
  before: string;
  after: string;
  ref: string;
}

const OID = /^[0-9a-f]{40}([0-9a-f]{24})?$/;
/** Commands sit before the first flush packet; the pack follows. More than this is refused. */
const MAX_COMMAND_BYTES = 1024 * 1024;

/**
 * Parses the pkt-lines at the start of a receive-pack request body (`<old> <new> <ref>[\0caps]`
 * up to the first flush packet). Returns undefined while more bytes are needed.
 */
export function parseReceivePackCommands(buf: Buffer): RefUpdateCommand[] | undefined {
  const commands: RefUpdateCommand[] = [];
  let pos = 0;
  for (;;) {
    if (buf.length < pos + 4) return undefined;
    const lenHex = buf.subarray(pos, pos + 4).toString('latin1');
    if (!/^[0-9a-f]{4}$/.test(lenHex)) throw new Error('malformed pkt-line length');
    const len = parseInt(lenHex, 16);
    if (len === 0) return commands; // flush: end of the command list
    if (len < 4) throw new Error('malformed pkt-line');
    if (buf.length < pos + len) return undefined;
    let line = buf.subarray(pos + 4, pos + len).toString('utf8');
    pos += len;
    const nul = line.indexOf('\0');
    if (nul >= 0) line = line.slice(0, nul);
    line = line.replace(/\n$/, '');
    const [before, after, ref, ...rest] = line.split(' ');
    if (rest.length === 0 && OID.test(before ?? '') && OID.test(after ?? '') && ref?.startsWith('refs/')) {
      commands.push({ before, after, ref });
    }
    // other lines (shallow, push-cert) carry no ref update
  }
}

/**
 * Watches a request stream (without consuming it for anyone else) and resolves with the ref
 * update commands once they have been read, or with [] when they cannot be parsed.
 */
export function captureReceivePackCommands(
  req: Readable,
  contentEncoding: string | undefined,
): Promise<RefUpdateCommand[]> {
  return new Promise(resolve => {
    let source: Readable = req;
    let gunzip: zlib.Gunzip | undefined;
    let buf = Buffer.alloc(0);
    let done = false;
    const listeners: { onData?: (chunk: Buffer) => void } = {};
    const finish = (result: RefUpdateCommand[]) => {
      if (done) return;
      done = true;
      if (listeners.onData) source.off('data', listeners.onData);
      if (gunzip) gunzip.destroy();
      resolve(result);
    };
    if (contentEncoding === 'gzip') {
      const unzip = zlib.createGunzip();
      gunzip = unzip;
      unzip.on('error', () => finish([]));
      req.on('data', (chunk: Buffer) => {
        if (!done) unzip.write(chunk);
      });
      req.on('end', () => unzip.end());
      unzip.on('close', () => finish([]));
      source = unzip;
    }
    const onData = (chunk: Buffer) => {
      if (done) return;
      buf = Buffer.concat([buf, chunk]);
      try {
        const parsed = parseReceivePackCommands(buf);
        if (parsed) finish(parsed);
        else if (buf.length > MAX_COMMAND_BYTES) finish([]);
      } catch {
        finish([]);
      }
    };
    listeners.onData = onData;
    source.on('data', onData);
    source.on('end', () => finish([]));
    req.on('error', () => finish([]));
    // an aborted request: whatever was read is all there is (gzip: let the inflater drain first)
    req.on('close', () => (gunzip ? gunzip.end() : setImmediate(() => finish([]))));
  });
}
