import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gpg, OpenPgpCommitSigner, stopGpgAgent } from './Signer';

const homes: string[] = [];
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'rm-signer-'));
/** A GNUPGHOME for gpg itself in a test; its agent is stopped after the tests. */
const gpgHome = (dir: string) => {
  homes.push(dir);
  return dir;
};
afterAll(() => Promise.all(homes.map(stopGpgAgent)));

function git(cwd: string, args: string[], env: Record<string, string> = {}, input?: Buffer): string {
  return execFileSync('git', args, {
    cwd,
    input,
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: 'A',
      GIT_AUTHOR_EMAIL: 'a@x',
      GIT_COMMITTER_NAME: 'C',
      GIT_COMMITTER_EMAIL: 'c@x',
      ...env,
    },
  }).toString('utf8');
}

describe('OpenPgpCommitSigner', () => {
  let home: string;
  let signer: OpenPgpCommitSigner;
  let repo: string;

  beforeAll(async () => {
    home = tmp();
    signer = await OpenPgpCommitSigner.fromGnupgHome({
      gnupgHome: path.join(home, 'gnupg'),
      name: 'Release Manager',
      email: 'rm@devplane.local',
    });
    repo = tmp();
    git(repo, ['init', '-q', '-b', 'main']);
    fs.writeFileSync(path.join(repo, 'f'), 'x\n');
    git(repo, ['add', 'f']);
    git(repo, ['commit', '-qm', 'first']);
  }, 30_000);

  it('keeps the key generated on first start (same fingerprint, isolated GNUPGHOME mode 700)', async () => {
    const again = await OpenPgpCommitSigner.fromGnupgHome({
      gnupgHome: path.join(home, 'gnupg'),
      name: 'Release Manager',
      email: 'rm@devplane.local',
    });
    expect(again.fingerprint).toBe(signer.fingerprint);
    expect(signer.fingerprint).toMatch(/^[0-9A-F]{40}$/);
    expect(fs.statSync(path.join(home, 'gnupg')).mode & 0o777).toBe(0o700);
    expect(signer.publicKeyArmored()).toMatch(/^-----BEGIN PGP PUBLIC KEY BLOCK-----/);
  });

  it('signs commits that git and gpg verify with only the public key', async () => {
    const raw = execFileSync('git', ['cat-file', 'commit', 'HEAD'], { cwd: repo });
    const signed = signer.signCommit(raw);
    const sha = git(repo, ['hash-object', '-t', 'commit', '-w', '--stdin'], {}, signed).trim();
    // A fresh keyring holding only the exported public key, as Flux's verification secret.
    const verifierHome = gpgHome(path.join(tmp(), 'g'));
    fs.mkdirSync(verifierHome, { mode: 0o700 });
    await gpg(verifierHome, ['--import'], Buffer.from(signer.publicKeyArmored()));
    const out = execFileSync('git', ['verify-commit', '--raw', sha], {
      cwd: repo,
      env: { ...process.env, GNUPGHOME: verifierHome },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    expect(out).toBeDefined();
    const status = git(repo, ['log', '-1', '--format=%G?%x00%GF', sha], { GNUPGHOME: verifierHome });
    expect(status.split('\0')[0]).toMatch(/^[GU]$/);
    expect(status.split('\0')[1].trim()).toBe(signer.fingerprint);
    expect(signer.verifyCommit(signed)).toEqual({ signature: 'good', signerFingerprint: signer.fingerprint });
  });

  it('verifies a commit gpg signed with the same key, and refuses tampering and other keys', async () => {
    const gnupg = gpgHome(path.join(home, 'gnupg'));
    fs.writeFileSync(path.join(repo, 'f'), 'y\n');
    git(repo, ['add', 'f']);
    git(repo, ['-c', `user.signingkey=${signer.fingerprint}`, 'commit', '-S', '-qm', 'gpg signed'], {
      GNUPGHOME: gnupg,
    });
    const raw = execFileSync('git', ['cat-file', 'commit', 'HEAD'], { cwd: repo });
    expect(raw.toString()).toContain('gpgsig -----BEGIN PGP SIGNATURE-----');
    expect(signer.verifyCommit(raw).signature).toBe('good');
    const tampered = Buffer.from(raw.toString('latin1').replace('gpg signed', 'gpg signeD'), 'latin1');
    expect(signer.verifyCommit(tampered).signature).toBe('bad');
    const unsigned = execFileSync('git', ['cat-file', 'commit', 'HEAD~1'], { cwd: repo });
    expect(signer.verifyCommit(unsigned).signature).toBe('none');
    const other = await OpenPgpCommitSigner.fromGnupgHome({
      gnupgHome: path.join(tmp(), 'other'),
      name: 'Mallory',
      email: 'm@x',
    });
    expect(signer.verifyCommit(other.signCommit(unsigned)).signature).toBe('none');
    expect(other.verifyCommit(other.signCommit(unsigned)).signature).toBe('good');
  });

  it('loads a configured secret key export (production) and serves its public key', async () => {
    const exported = await gpg(path.join(home, 'gnupg'), ['--armor', '--export-secret-keys']);
    const configured = OpenPgpCommitSigner.fromSecretKey(exported.toString('utf8'));
    expect(configured.fingerprint).toBe(signer.fingerprint);
    const raw = execFileSync('git', ['cat-file', 'commit', 'HEAD~1'], { cwd: repo });
    expect(signer.verifyCommit(configured.signCommit(raw)).signature).toBe('good');
    expect(() => OpenPgpCommitSigner.fromSecretKey('not a key')).toThrow(/armored/);
  });
});
