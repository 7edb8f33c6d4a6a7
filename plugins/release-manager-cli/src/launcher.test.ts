import { execFile } from 'node:child_process';
import path from 'node:path';
import { StandIn, emptyDir } from './__testUtils__/standIn';

const bin = path.resolve(__dirname, '..', 'bin', 'release-manager');

function launch(args: string[], env: Record<string, string>) {
  return new Promise<{ code: number; stdout: string; stderr: string }>(
    resolve => {
      execFile(
        process.execPath,
        [bin, ...args],
        {
          cwd: emptyDir(),
          env: { PATH: process.env.PATH ?? '', ...env },
          timeout: 30_000,
        },
        (error, stdout, stderr) =>
          resolve({
            code: error ? Number((error as { code?: number }).code ?? 1) : 0,
            stdout,
            stderr,
          }),
      );
    },
  );
}

describe('bin/release-manager (a real process, from source)', () => {
  let server: StandIn;
  beforeAll(async () => {
    server = await new StandIn().start();
  });
  afterAll(() => server.stop());

  it('runs a command with RELEASE_MANAGER_URL and RELEASE_MANAGER_TOKEN and exits 0', async () => {
    const r = await launch(['environments'], {
      RELEASE_MANAGER_URL: server.url,
      RELEASE_MANAGER_TOKEN: 'static-ci-token',
    });
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toContain('prod         yes');
    expect(server.last.authorization).toBe('Bearer static-ci-token');
  });

  it('sets the process exit code (3 on not found)', async () => {
    const r = await launch(['status', '--service', 'ghost'], {
      RELEASE_MANAGER_URL: server.url,
    });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain("not found: Service 'ghost' not found");
  });
});
