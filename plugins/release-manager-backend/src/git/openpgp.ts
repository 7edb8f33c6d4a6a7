import crypto from 'node:crypto';

/**
 * The small part of OpenPGP (RFC 4880 + RFC 4880bis EdDSA) the release manager needs, in process:
 * read an Ed25519 key (as gpg exports it), make a v4 detached binary signature of a commit
 * payload (what `git commit -S` with gpg makes, and what Flux's GitRepository `spec.verify`
 * checks), and verify such a signature against that key. Signing with a `gpg` process costs
 * ~20 ms per commit; this costs well under a millisecond. Interoperability with gpg is tested
 * (gpg verifies what we sign; we verify what gpg signs).
 */

const ED25519_OID = Buffer.from('2b06010401da470f01', 'hex'); // 1.3.6.1.4.1.11591.15.1
const ALGO_EDDSA_LEGACY = 22;
const ALGO_ED25519 = 27;
const HASHES: Record<number, string> = { 2: 'sha1', 8: 'sha256', 9: 'sha384', 10: 'sha512', 11: 'sha224' };

/** A packet: tag and body. */
interface Packet {
  tag: number;
  body: Buffer;
}

function crc24(data: Buffer): number {
  let crc = 0xb704ce;
  for (const byte of data) {
    crc ^= byte << 16;
    for (let i = 0; i < 8; i++) {
      crc <<= 1;
      if (crc & 0x1000000) crc ^= 0x1864cfb;
    }
  }
  return crc & 0xffffff;
}

/** Decodes ASCII armor (any block type); throws on a bad checksum. */
export function dearmor(text: string): Buffer {
  const lines = text.replace(/\r/g, '').split('\n');
  const begin = lines.findIndex(l => /^-----BEGIN PGP [A-Z ]+-----$/.test(l.trim()));
  if (begin < 0) throw new Error('not an ASCII-armored OpenPGP block');
  let i = begin + 1;
  // Armor headers, then an empty line.
  while (i < lines.length && lines[i].trim() !== '' && /^[A-Za-z-]+: /.test(lines[i])) i++;
  if (lines[i]?.trim() === '') i++;
  const body: string[] = [];
  let checksum: string | undefined;
  for (; i < lines.length; i++) {
    const l = lines[i].trim();
    if (l.startsWith('-----END PGP')) break;
    if (l.startsWith('=') && l.length === 5) checksum = l.slice(1);
    else if (l) body.push(l);
  }
  if (i >= lines.length) throw new Error('armored block has no END line');
  const data = Buffer.from(body.join(''), 'base64');
  if (checksum !== undefined) {
    const c = Buffer.from(checksum, 'base64');
    if (c.length !== 3 || c.readUIntBE(0, 3) !== crc24(data)) throw new Error('armor checksum mismatch');
  }
  return data;
}

/** Encodes binary OpenPGP data as ASCII armor. */
export function armor(type: 'SIGNATURE' | 'PUBLIC KEY BLOCK' | 'PRIVATE KEY BLOCK', data: Buffer): string {
  const b64 = data.toString('base64');
  const lines = b64.match(/.{1,64}/g) ?? [];
  const crc = Buffer.alloc(3);
  crc.writeUIntBE(crc24(data), 0, 3);
  return `-----BEGIN PGP ${type}-----\n\n${lines.join('\n')}\n=${crc.toString('base64')}\n-----END PGP ${type}-----\n`;
}

/** Splits binary OpenPGP data into packets (old and new formats; no partial lengths). */
export function parsePackets(data: Buffer): Packet[] {
  const out: Packet[] = [];
  let p = 0;
  while (p < data.length) {
    const ctb = data[p++];
    if (!(ctb & 0x80)) throw new Error('invalid OpenPGP packet header');
    let tag: number;
    let len: number;
    if (ctb & 0x40) {
      tag = ctb & 0x3f;
      const o = data[p++];
      if (o < 192) len = o;
      else if (o < 224) len = ((o - 192) << 8) + data[p++] + 192;
      else if (o === 255) {
        len = data.readUInt32BE(p);
        p += 4;
      } else throw new Error('partial-length OpenPGP packets are not supported');
    } else {
      tag = (ctb >> 2) & 0x0f;
      const lt = ctb & 3;
      if (lt === 0) len = data[p++];
      else if (lt === 1) {
        len = data.readUInt16BE(p);
        p += 2;
      } else if (lt === 2) {
        len = data.readUInt32BE(p);
        p += 4;
      } else throw new Error('indeterminate-length OpenPGP packets are not supported');
    }
    if (p + len > data.length) throw new Error('truncated OpenPGP packet');
    out.push({ tag, body: data.subarray(p, p + len) });
    p += len;
  }
  return out;
}

function packet(tag: number, body: Buffer): Buffer {
  const len = body.length;
  let header: Buffer;
  if (len < 192) header = Buffer.from([0xc0 | tag, len]);
  else if (len < 8384) header = Buffer.from([0xc0 | tag, ((len - 192) >> 8) + 192, (len - 192) & 0xff]);
  else {
    header = Buffer.alloc(6);
    header[0] = 0xc0 | tag;
    header[1] = 255;
    header.writeUInt32BE(len, 2);
  }
  return Buffer.concat([header, body]);
}

function readMpi(buf: Buffer, p: number): { value: Buffer; next: number } {
  const bits = buf.readUInt16BE(p);
  const bytes = (bits + 7) >> 3;
  if (p + 2 + bytes > buf.length) throw new Error('truncated MPI');
  return { value: buf.subarray(p + 2, p + 2 + bytes), next: p + 2 + bytes };
}

function mpi(value: Buffer): Buffer {
  let v = value;
  while (v.length > 0 && v[0] === 0) v = v.subarray(1);
  const bits = v.length === 0 ? 0 : (v.length - 1) * 8 + (32 - Math.clz32(v[0]));
  const head = Buffer.alloc(2);
  head.writeUInt16BE(bits, 0);
  return Buffer.concat([head, v]);
}

function leftPad(v: Buffer, n: number): Buffer {
  if (v.length > n) throw new Error('value too long');
  return Buffer.concat([Buffer.alloc(n - v.length), v]);
}

const b64url = (b: Buffer) => b.toString('base64url');

/** An Ed25519 public key read from an OpenPGP key (the primary key). */
export interface OpenPgpPublicKey {
  /** v4 fingerprint, upper-case hex (40 characters). */
  fingerprint: string;
  /** Last 8 bytes of the fingerprint, upper-case hex. */
  keyId: string;
  /** The public key packet's body (for re-exporting). */
  keyPacketBody: Buffer;
  key: crypto.KeyObject;
}

/** An Ed25519 secret key read from an unprotected OpenPGP secret key. */
export interface OpenPgpSecretKey extends OpenPgpPublicKey {
  privateKey: crypto.KeyObject;
}

/** Parses the public part of a v4 EdDSA key packet body; returns it and where it ends. */
function parseKeyBody(body: Buffer): { pub: Omit<OpenPgpPublicKey, 'keyPacketBody'>; end: number; raw: Buffer } {
  if (body[0] !== 4) throw new Error(`OpenPGP key version ${body[0]} is not supported (v4 only)`);
  const algo = body[5];
  let p = 6;
  let raw: Buffer;
  if (algo === ALGO_EDDSA_LEGACY) {
    const oidLen = body[p++];
    const oid = body.subarray(p, p + oidLen);
    p += oidLen;
    if (!oid.equals(ED25519_OID)) throw new Error('only Ed25519 EdDSA keys are supported');
    const point = readMpi(body, p);
    p = point.next;
    if (point.value.length !== 33 || point.value[0] !== 0x40) throw new Error('unexpected Ed25519 point encoding');
    raw = point.value.subarray(1);
  } else if (algo === ALGO_ED25519) {
    raw = body.subarray(p, p + 32);
    p += 32;
  } else {
    throw new Error(`OpenPGP key algorithm ${algo} is not supported; use an Ed25519 key`);
  }
  const keyBody = body.subarray(0, p);
  const fp = crypto
    .createHash('sha1')
    .update(Buffer.from([0x99, keyBody.length >> 8, keyBody.length & 0xff]))
    .update(keyBody)
    .digest('hex')
    .toUpperCase();
  const key = crypto.createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: b64url(raw) }, format: 'jwk' });
  return { pub: { fingerprint: fp, keyId: fp.slice(-16), key }, end: p, raw };
}

/** Reads the primary public key of an armored (or binary) OpenPGP public key block. */
export function readPublicKey(input: string | Buffer): OpenPgpPublicKey {
  const data = typeof input === 'string' ? dearmor(input) : input;
  const pk = parsePackets(data).find(x => x.tag === 6 || x.tag === 5);
  if (!pk) throw new Error('no public key packet');
  const { pub, end } = parseKeyBody(pk.body);
  return { ...pub, keyPacketBody: Buffer.from(pk.body.subarray(0, end)) };
}

/** Reads an unprotected Ed25519 secret key (armored or binary, as `gpg --export-secret-keys`). */
export function readSecretKey(input: string | Buffer): OpenPgpSecretKey {
  const data = typeof input === 'string' ? dearmor(input) : input;
  const sk = parsePackets(data).find(x => x.tag === 5);
  if (!sk) throw new Error('no secret key packet');
  const { pub, end, raw } = parseKeyBody(sk.body);
  const usage = sk.body[end];
  if (usage !== 0) {
    throw new Error('the secret key is passphrase-protected; export it without a passphrase');
  }
  let seed: Buffer;
  if (sk.body[5] === ALGO_EDDSA_LEGACY) seed = leftPad(readMpi(sk.body, end + 1).value, 32);
  else seed = sk.body.subarray(end + 1, end + 33);
  const privateKey = crypto.createPrivateKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: b64url(raw), d: b64url(seed) },
    format: 'jwk',
  });
  // The key pair must match (a corrupt export would sign with a key nobody can verify).
  const probe = Buffer.from('devplane');
  if (!crypto.verify(null, probe, pub.key, crypto.sign(null, probe, privateKey))) {
    throw new Error('secret key does not match its public key');
  }
  return { ...pub, keyPacketBody: Buffer.from(sk.body.subarray(0, end)), privateKey };
}

function subpacket(type: number, data: Buffer): Buffer {
  // Lengths here are always < 192.
  return Buffer.concat([Buffer.from([data.length + 1, type]), data]);
}

function sigDigest(hashName: string, data: Buffer, hashedPart: Buffer): Buffer {
  const trailer = Buffer.alloc(6);
  trailer[0] = 4;
  trailer[1] = 0xff;
  trailer.writeUInt32BE(hashedPart.length, 2);
  return crypto.createHash(hashName).update(data).update(hashedPart).update(trailer).digest();
}

/**
 * A v4 detached signature of `data` (binary document, SHA-256, EdDSA), ASCII-armored: what
 * git puts into a commit's `gpgsig` header.
 */
export function signDetached(data: Buffer, key: OpenPgpSecretKey, when: Date = new Date()): string {
  const created = Buffer.alloc(4);
  created.writeUInt32BE(Math.floor(when.getTime() / 1000), 0);
  const hashed = Buffer.concat([
    subpacket(33, Buffer.concat([Buffer.from([4]), Buffer.from(key.fingerprint, 'hex')])),
    subpacket(2, created),
  ]);
  const hashedLen = Buffer.alloc(2);
  hashedLen.writeUInt16BE(hashed.length, 0);
  const hashedPart = Buffer.concat([Buffer.from([4, 0x00, ALGO_EDDSA_LEGACY, 8]), hashedLen, hashed]);
  const digest = sigDigest('sha256', data, hashedPart);
  const sig = crypto.sign(null, digest, key.privateKey);
  const unhashed = subpacket(16, Buffer.from(key.keyId, 'hex'));
  const unhashedLen = Buffer.alloc(2);
  unhashedLen.writeUInt16BE(unhashed.length, 0);
  const body = Buffer.concat([
    hashedPart,
    unhashedLen,
    unhashed,
    digest.subarray(0, 2),
    mpi(sig.subarray(0, 32)),
    mpi(sig.subarray(32, 64)),
  ]);
  return armor('SIGNATURE', packet(2, body));
}

/** Result of {@link verifyDetached}. */
export interface VerifyResult {
  /** good: made by `key` over `data`; bad: made by `key` but does not match; none: not by `key` or unreadable. */
  status: 'good' | 'bad' | 'none';
  /** Fingerprint (or key id) the signature names as issuer, when readable. */
  issuer?: string;
}

/** Verifies an armored detached signature of `data` against one key (nothing else is trusted). */
export function verifyDetached(data: Buffer, armored: string, key: OpenPgpPublicKey): VerifyResult {
  let packets: Packet[];
  try {
    packets = parsePackets(dearmor(armored));
  } catch {
    return { status: 'none' };
  }
  const sigs = packets.filter(x => x.tag === 2);
  if (sigs.length !== 1 || packets.length !== 1) return { status: 'none' };
  const body = sigs[0].body;
  try {
    if (body[0] !== 4) return { status: 'none' };
    const [, type, algo, hashAlgo] = body;
    const hashedLen = body.readUInt16BE(4);
    const hashedPart = body.subarray(0, 6 + hashedLen);
    let p = 6 + hashedLen;
    const unhashedLen = body.readUInt16BE(p);
    const unhashedStart = p + 2;
    p = unhashedStart + unhashedLen;
    const left16 = body.subarray(p, p + 2);
    p += 2;
    let issuer: string | undefined;
    const scan = (from: number, to: number, hashedArea: boolean) => {
      let q = from;
      while (q < to) {
        let len = body[q++];
        if (len >= 192 && len < 255) len = ((len - 192) << 8) + body[q++] + 192;
        else if (len === 255) {
          len = body.readUInt32BE(q);
          q += 4;
        }
        const st = body[q] & 0x7f;
        const d = body.subarray(q + 1, q + len);
        if (st === 33 && d[0] === 4) issuer = d.subarray(1).toString('hex').toUpperCase();
        else if (st === 16 && !issuer) issuer = d.toString('hex').toUpperCase();
        else if (hashedArea && body[q] & 0x80 && ![2, 33, 16].includes(st)) {
          throw new Error('unknown critical subpacket');
        }
        q += len;
      }
    };
    scan(6, 6 + hashedLen, true);
    scan(unhashedStart, unhashedStart + unhashedLen, false);
    const byKey = issuer !== undefined && (issuer === key.fingerprint || issuer === key.keyId);
    if (!byKey) return { status: 'none', issuer };
    const hashName = HASHES[hashAlgo];
    if (type !== 0x00 || (algo !== ALGO_EDDSA_LEGACY && algo !== ALGO_ED25519) || !hashName || hashName === 'sha1') {
      return { status: 'bad', issuer };
    }
    let sig: Buffer;
    if (algo === ALGO_EDDSA_LEGACY) {
      const r = readMpi(body, p);
      const s = readMpi(body, r.next);
      sig = Buffer.concat([leftPad(r.value, 32), leftPad(s.value, 32)]);
    } else {
      sig = body.subarray(p, p + 64);
    }
    const digest = sigDigest(hashName, data, hashedPart);
    if (!digest.subarray(0, 2).equals(left16)) return { status: 'bad', issuer };
    return { status: crypto.verify(null, digest, key.key, sig) ? 'good' : 'bad', issuer };
  } catch {
    return { status: 'bad' };
  }
}

/** Splits a raw commit object into the signed payload and its `gpgsig` signature (if any). */
export function splitSignedCommit(raw: Buffer): { payload: Buffer; signature?: string } {
  const text = raw.toString('latin1');
  const headerEnd = text.indexOf('\n\n');
  const headers = headerEnd < 0 ? text : text.slice(0, headerEnd + 1);
  const lines = headers.split('\n');
  const kept: string[] = [];
  let sig: string[] | undefined;
  let inSig = false;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i];
    if (i === lines.length - 1 && l === '') break;
    if (inSig && l.startsWith(' ')) {
      sig!.push(l.slice(1));
      continue;
    }
    inSig = false;
    if (l.startsWith('gpgsig ')) {
      if (sig) return { payload: raw }; // two signatures: treat as unsigned
      sig = [l.slice('gpgsig '.length)];
      inSig = true;
      continue;
    }
    kept.push(l);
  }
  if (!sig) return { payload: raw };
  const rest = headerEnd < 0 ? '' : text.slice(headerEnd + 1);
  const payload = Buffer.from(`${kept.join('\n')}\n${rest}`, 'latin1');
  return { payload, signature: `${sig.join('\n')}\n` };
}

/** Inserts a `gpgsig` header (after the committer line) into an unsigned raw commit. */
export function addCommitSignature(payload: Buffer, armoredSig: string): Buffer {
  const text = payload.toString('latin1');
  const headerEnd = text.indexOf('\n\n');
  const head = text.slice(0, headerEnd);
  const folded = armoredSig.replace(/\n$/, '').split('\n').join('\n ');
  return Buffer.from(`${head}\ngpgsig ${folded}${text.slice(headerEnd)}`, 'latin1');
}
