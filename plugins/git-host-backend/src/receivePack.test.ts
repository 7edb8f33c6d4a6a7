import { PassThrough } from 'node:stream';
import zlib from 'node:zlib';
import { captureReceivePackCommands, parseReceivePackCommands } from './receivePack';

const a = 'a'.repeat(40);
const b = 'b'.repeat(40);
const z = '0'.repeat(40);
const pkt = (s: string) => `${(s.length + 4).toString(16).padStart(4, '0')}${s}`;
const body = Buffer.from(
  `${pkt(`${a} ${b} refs/heads/main\0report-status side-band-64k\n`)}${pkt(`${z} ${b} refs/heads/feature/x\n`)}0000PACK...binary`,
);

describe('receive-pack command parsing', () => {
  it('reads every ref update before the flush packet and ignores the pack', () => {
    expect(parseReceivePackCommands(body)).toEqual([
      { before: a, after: b, ref: 'refs/heads/main' },
      { before: z, after: b, ref: 'refs/heads/feature/x' },
    ]);
  });

  it('asks for more bytes on a partial packet and refuses garbage', () => {
    expect(parseReceivePackCommands(body.subarray(0, 30))).toBeUndefined();
    expect(() => parseReceivePackCommands(Buffer.from('zzzz'))).toThrow(/malformed/);
  });

  it('captures the commands from a plain and a gzip request stream', async () => {
    for (const encoding of [undefined, 'gzip']) {
      const req = new PassThrough();
      const captured = captureReceivePackCommands(req, encoding);
      const data = encoding ? zlib.gzipSync(body) : body;
      req.write(data.subarray(0, 7));
      req.end(data.subarray(7));
      expect((await captured).map(c => c.ref)).toEqual(['refs/heads/main', 'refs/heads/feature/x']);
    }
  });
});
