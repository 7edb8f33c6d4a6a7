import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import path from 'node:path';
import {
  addCommitSignature,
  armor,
  dearmor,
  OpenPgpPublicKey,
  OpenPgpSecretKey,
  parsePackets,
  readPublicKey,
  readSecretKey,
  signDetached,
  splitSignedCommit,
  verifyDetached,
} from './openpgp';

/** Signs the commits the release manager writes and verifies the ones it reads. */
export interface CommitSigner {
  /** v4 fingerprint of the signing key (upper-case hex). */
  readonly fingerprint: string;
  /** Armored public key (what Flux's `spec.verify.secretRef` and operators import). */
  publicKeyArmored(): string;
  /** Returns the raw commit object with a `gpgsig` header over `payload`. */
  signCommit(payload: Buffer): Buffer;
  /** Verifies a raw commit object against the release manager's key only. */
  verifyCommit(raw: Buffer): { signature: 'good' | 'bad' | 'none'; signerFingerprint?: string };
}

/** Re-encodes a secret key export as the public key block (key, user ids, their signatures). */
function publicBlockOf(secretExport: Buffer, primary: OpenPgpSecretKey): Buffer {
  const out: Buffer[] = [];
  const pk = (tag: number, body: Buffer) => {
    const len = body.length;
    let head: Buffer;
    if (len < 192) head = Buffer.from([0xc0 | tag, len]);
    else if (len < 8384) head = Buffer.from([0xc0 | tag, ((len - 192) >> 8) + 192, (len - 192) & 0xff]);
    else head = Buffer.from([0xc0 | tag, 255, len >>> 24, (len >> 16) & 0xff, (len >> 8) & 0xff, len & 0xff]);
    out.push(head, body);
  };
  let first = true;
  for (const p of parsePackets(secretExport)) {
    if (p.tag === 5 && first) {
      pk(6, primary.keyPacketBody);
      first = false;
    } else if (p.tag === 13 || p.tag === 2) {
      pk(p.tag, p.body);
    } else if (p.tag === 5 || p.tag === 7) {
      // Subkeys are not used for commit signing; a public export would need their public parts.
      continue;
    }
  }
  return Buffer.concat(out);
}

/** In-process OpenPGP signer/verifier over one Ed25519 key (see `openpgp.ts`). */
export class OpenPgpCommitSigner implements CommitSigner {
  readonly fingerprint: string;
  private readonly publicArmored: string;
  private readonly key: OpenPgpSecretKey;
  private readonly trusted: OpenPgpPublicKey;

  /** From an unprotected secret key export (armored or binary). */
  static fromSecretKey(exported: string | Buffer): OpenPgpCommitSigner {
    const data = typeof exported === 'string' ? dearmor(exported) : exported;
    const key = readSecretKey(data);
    const publicBlock = armor('PUBLIC KEY BLOCK', publicBlockOf(data, key));
    return new OpenPgpCommitSigner(key, publicBlock);
  }

  /**
   * The key in `gnupgHome` (an isolated GNUPGHOME, never the user's), generated with gpg on
   * first use: Ed25519, signing only, no passphrase, no expiry.
   */
  static async fromGnupgHome(options: { gnupgHome: string; name: string; email: string }): Promise<OpenPgpCommitSigner> {
    const home = path.resolve(options.gnupgHome);
    await fs.mkdir(home, { recursive: true, mode: 0o700 });
    await fs.chmod(home, 0o700);
    const uid = `${options.name.replace(/[<>\n]/g, '')} <${options.email.replace(/[<>\n]/g, '')}>`;
    let exported: Buffer;
    try {
      exported = await gpg(home, ['--export-secret-keys']);
      if (exported.length === 0) {
        await gpg(home, ['--quick-gen-key', uid, 'ed25519', 'sign', 'never']);
        exported = await gpg(home, ['--export-secret-keys']);
      }
    } finally {
      // Signing happens in process: the agent gpg started for these calls is not needed again.
      await stopGpgAgent(home);
    }
    if (exported.length === 0) throw new Error(`gpg did not create a key in ${home}`);
    return OpenPgpCommitSigner.fromSecretKey(exported);
  }

  private constructor(key: OpenPgpSecretKey, publicArmored: string) {
    this.key = key;
    this.fingerprint = key.fingerprint;
    this.publicArmored = publicArmored;
    this.trusted = readPublicKey(publicArmored);
  }

  publicKeyArmored(): string {
    return this.publicArmored;
  }

  signCommit(payload: Buffer): Buffer {
    return addCommitSignature(payload, signDetached(payload, this.key));
  }

  verifyCommit(raw: Buffer): { signature: 'good' | 'bad' | 'none'; signerFingerprint?: string } {
    const { payload, signature } = splitSignedCommit(raw);
    if (!signature) return { signature: 'none' };
    const r = verifyDetached(payload, signature, this.trusted);
    return { signature: r.status, signerFingerprint: r.status === 'good' ? this.fingerprint : undefined };
  }
}

/**
 * Stops the gpg-agent gpg starts for an isolated home. Left running, every such home keeps an
 * agent (and its inotify instances) alive after the process that used it is gone.
 */
export function stopGpgAgent(home: string): Promise<void> {
  return new Promise(resolve => {
    const child = spawn('gpgconf', ['--homedir', home, '--kill', 'gpg-agent'], { stdio: 'ignore' });
    child.on('error', () => resolve());
    child.on('close', () => resolve());
  });
}

/** Runs gpg on an isolated home, batch mode, no passphrase; resolves stdout. */
export function gpg(home: string, args: string[], input?: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      'gpg',
      ['--homedir', home, '--batch', '--quiet', '--no-tty', '--pinentry-mode', 'loopback', '--passphrase', '', ...args],
      { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, GNUPGHOME: home } },
    );
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', d => out.push(d));
    child.stderr.on('data', d => err.push(d));
    child.on('error', reject);
    child.on('close', code => {
      if (code === 0) resolve(Buffer.concat(out));
      else reject(new Error(`gpg ${args[0]} failed (${code}): ${Buffer.concat(err).toString('utf8').slice(0, 500)}`));
    });
    child.stdin.end(input);
  });
}
