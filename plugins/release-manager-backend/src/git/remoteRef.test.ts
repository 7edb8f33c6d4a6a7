import fs from 'node:fs/promises';
import http from 'node:http';
import { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import express from 'express';
import { LocalGitHost, runGit } from '@devplane/plugin-git-host-node';
import { serveSmartHttp } from '@devplane/plugin-git-host-backend';
import { GitOpsWriter } from './GitOpsWriter';
import { lsRefsRequest, parseLsRefs, remoteRefOverHttp } from './remoteRef';

jest.setTimeout(60_000);

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const pkt = (s: string) => (s.length + 4).toString(16).padStart(4, '0') + s;

describe('parseLsRefs', () => {
  it('reads the oid of the asked ref from a v2 listing', () => {
    const body = Buffer.from(`${pkt(`${A} refs/heads/main-2\n`)}${pkt(`${B} refs/heads/main\n`)}0000`);
    expect(parseLsRefs(body, 'refs/heads/main')).toBe(B);
    expect(parseLsRefs(body, 'refs/heads/main-2')).toBe(A);
  });

  it("answers '' for a listing without the ref (the branch does not exist)", () => {
    expect(parseLsRefs(Buffer.from('0000'), 'refs/heads/main')).toBe('');
    expect(parseLsRefs(Buffer.from(`${pkt(`${A} refs/heads/other\n`)}0000`), 'refs/heads/main')).toBe('');
  });

  it('refuses what is not a whole, well-formed listing', () => {
    const ref = 'refs/heads/main';
    for (const body of [
      '', // nothing
      pkt(`${B} refs/heads/main\n`), // no flush: cut short
      `${pkt(`${B} refs/heads/main\n`)}0000extra`, // bytes after the flush
      `${pkt('ERR upload-pack: not our ref\n')}0000`, // the server's error
      `${pkt(`${B.slice(1)} refs/heads/main\n`)}0000`, // not an oid
      `0001${pkt(`${B} refs/heads/main\n`)}0000`, // a delimiter
      `zzzz`, // not a length
      '<html>sign in</html>',
    ]) {
      expect(parseLsRefs(Buffer.from(body), ref)).toBeUndefined();
    }
  });

  it('asks for exactly one ref prefix', () => {
    expect(lsRefsRequest('refs/heads/main')).toBe(
      '0014command=ls-refs\n0001001fref-prefix refs/heads/main\n0000',
    );
  });
});

describe('remoteRefOverHttp against git http-backend', () => {
  let root: string;
  let host: LocalGitHost;
  let server: http.Server;
  let base: string;
  const token = 'the-config-repo-token-0123456789';
  const seen: { method: string; path: string; protocol?: string; by: 'writer' | 'git' }[] = [];
  let answerHtml = false;
  /** answer only the writer's in-process request (its user agent) with a sign-in page */
  let breakInProcess = false;

  beforeEach(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'rm-remote-ref-'));
    host = new LocalGitHost({ rootDir: path.join(root, 'git'), baseUrl: 'http://localhost/repos' });
    await host.createRepo('config', { files: { 'README.md': 'config\n' } });
    seen.length = 0;
    answerHtml = false;
    breakInProcess = false;
    const app = express();
    // GitHub's convention, as production has it: Basic x-access-token:<token>, else 401.
    app.use(async (req, res) => {
      seen.push({
        method: req.method,
        path: req.path,
        protocol: req.headers['git-protocol'] as string | undefined,
        by: /devplane-release-manager/.test(req.headers['user-agent'] ?? '') ? 'writer' : 'git',
      });
      if (answerHtml || (breakInProcess && seen[seen.length - 1].by === 'writer')) {
        res.status(200).type('text/html').end('<html>sign in</html>');
        return;
      }
      const m = /^Basic\s+(\S+)$/i.exec(req.headers.authorization ?? '');
      const password = m ? Buffer.from(m[1], 'base64').toString('utf8').replace(/^[^:]*:/, '') : '';
      if (password !== token) {
        res.status(401).setHeader('WWW-Authenticate', 'Basic realm="config"');
        res.end('a token is needed\n');
        return;
      }
      try {
        await serveSmartHttp(req, res, decodeURIComponent(req.path.replace(/^\/+/, '')), {
          host,
          allowPush: true,
          pusher: 'release-manager',
        });
      } catch (e: any) {
        res.status(e?.name === 'NotFoundError' ? 404 : 400).end(`${e?.message ?? e}\n`);
      }
    });
    server = http.createServer(app);
    await new Promise<void>(r => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterEach(async () => {
    server.closeAllConnections();
    await new Promise(r => server.close(r));
    await fs.rm(root, { recursive: true, force: true });
  });

  const gitLsRemote = async (ref: string) => {
    const basic = Buffer.from(`x-access-token:${token}`).toString('base64');
    const { stdout } = await runGit(['-c', `http.extraHeader=Authorization: Basic ${basic}`, 'ls-remote', `${base}/config.git`, ref]);
    return stdout.split('\t')[0] ?? '';
  };

  it('answers what git ls-remote answers, with one POST of protocol v2', async () => {
    const tip = await remoteRefOverHttp(`${base}/config.git`, 'refs/heads/main', { token });
    expect(tip).toMatch(/^[0-9a-f]{40}$/);
    expect(seen).toEqual([{ method: 'POST', path: '/config.git/git-upload-pack', protocol: 'version=2', by: 'writer' }]);
    // git ls-remote: its capability request (GET info/refs), then the same ls-refs POST
    expect(tip).toBe(await gitLsRemote('refs/heads/main'));
    expect(seen.slice(1).map(r => `${r.by} ${r.method} ${r.path}`)).toEqual([
      'git GET /config.git/info/refs',
      'git POST /config.git/git-upload-pack',
    ]);

    // a missing branch: '' like an empty ls-remote
    expect(await remoteRefOverHttp(`${base}/config.git`, 'refs/heads/nope', { token })).toBe('');
    expect(await gitLsRemote('refs/heads/nope')).toBe('');
  });

  it('cannot tell (undefined) without the token, from an HTML page, from a URL with credentials or another protocol', async () => {
    expect(await remoteRefOverHttp(`${base}/config.git`, 'refs/heads/main', { token: 'wrong' })).toBeUndefined();
    expect(await remoteRefOverHttp(`${base}/config.git`, 'refs/heads/main')).toBeUndefined();
    expect(await remoteRefOverHttp(`${base}/missing.git`, 'refs/heads/main', { token })).toBeUndefined();
    const asked = seen.length;
    expect(await remoteRefOverHttp(`http://u:p@127.0.0.1:1/config.git`, 'refs/heads/main', { token })).toBeUndefined();
    expect(await remoteRefOverHttp(host.repoPath('config'), 'refs/heads/main', { token })).toBeUndefined();
    expect(seen.length).toBe(asked); // neither was sent
    answerHtml = true;
    expect(await remoteRefOverHttp(`${base}/config.git`, 'refs/heads/main', { token })).toBeUndefined();
  });

  it("lets the writer see another writer's push through one in-process ls-refs, and through git when that fails", async () => {
    const remoteUrl = `${base}/config.git`;
    const a = await GitOpsWriter.create({ workDir: path.join(root, 'a'), remoteUrl, token });
    const b = await GitOpsWriter.create({ workDir: path.join(root, 'b'), remoteUrl, token });
    const write = (w: GitOpsWriter, rel: string) =>
      w.write({
        apply: async tree => {
          await tree.writeFile(rel, `${rel}\n`);
          return { result: rel, commit: { message: `write ${rel}`, paths: [rel] } };
        },
      });
    try {
      await a.refresh(0);
      await write(b, 'from-b.txt');
      seen.length = 0;
      await a.refresh(0);
      expect(await a.readFile('from-b.txt')).toBe('from-b.txt\n');
      // the look at the remote: one v2 POST in process; then git's fetch (its own requests only)
      expect(seen[0]).toEqual({ method: 'POST', path: '/config.git/git-upload-pack', protocol: 'version=2', by: 'writer' });
      expect(seen.slice(1).every(r => r.by === 'git')).toBe(true);
      expect(seen.slice(1)[0]).toMatchObject({ method: 'GET', path: '/config.git/info/refs' });

      // The remote answers the in-process request with something else: git ls-remote looks instead.
      await write(b, 'from-b-2.txt');
      breakInProcess = true;
      seen.length = 0;
      await a.refresh(0);
      expect(await a.readFile('from-b-2.txt')).toBe('from-b-2.txt\n');
      expect(seen[0]).toMatchObject({ method: 'POST', by: 'writer' }); // the in-process try
      expect(seen[1]).toMatchObject({ method: 'GET', path: '/config.git/info/refs', by: 'git' }); // git ls-remote
      // and for the next minutes the writer asks git directly
      await write(b, 'from-b-3.txt');
      seen.length = 0;
      await a.refresh(0);
      expect(await a.readFile('from-b-3.txt')).toBe('from-b-3.txt\n');
      expect(seen.every(r => r.by === 'git')).toBe(true);
    } finally {
      a.close();
      b.close();
    }
  });
});
