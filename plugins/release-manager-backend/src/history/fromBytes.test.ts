import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { LocalGitHost } from '@devplane/plugin-git-host-node';
import {
  policyCommitMessage,
  releaseCommitMessage,
  ReleaseCommitInfo,
} from '../git/commitMessage';
import { GitOpsWriter, WorkTree, WrittenCommit } from '../git/GitOpsWriter';
import { splitSignedCommit } from '../git/openpgp';
import { OpenPgpCommitSigner, stopGpgAgent } from '../git/Signer';
import {
  CommitBytesRefused,
  HistoryReader,
  releaseInfoOf,
  VerifiedCommit,
} from './HistoryReader';

jest.setTimeout(60_000);

/** One commit that writes (or, with `undefined`, removes) files, with `message`. */
const job = (files: Record<string, string | undefined>, message: string) => ({
  apply: async (tree: WorkTree) => {
    for (const [rel, content] of Object.entries(files)) {
      if (content === undefined) await tree.remove(rel);
      else await tree.writeFile(rel, content);
    }
    return {
      result: 'ok',
      commit: {
        message,
        paths: Object.keys(files),
        author: { name: 'Alice Example', email: 'alice@bank.example' },
      },
    };
  },
});

const release = (over: Partial<ReleaseCommitInfo>): string =>
  releaseCommitMessage({
    service: 'payments',
    environment: 'dev',
    artifactId: 'main-0123456789-abcdefabcd',
    releasedBy: 'alice@bank.example',
    artifactCreatedBy: 'dev@bank.example',
    intent: 'release',
    branch: 'main',
    ...over,
  });

const spec = (id: string, namespace = 'pay') =>
  `${JSON.stringify({ id, service: 'payments', namespace })}\n`;

describe('HistoryReader.fromBytes', () => {
  let root: string;
  let writer: GitOpsWriter;
  let reader: HistoryReader;
  let signer: OpenPgpCommitSigner;
  let stranger: OpenPgpCommitSigner;

  beforeAll(async () => {
    root = await fs.mkdtemp(path.join(os.tmpdir(), 'rm-frombytes-'));
    signer = await OpenPgpCommitSigner.fromGnupgHome({
      gnupgHome: path.join(root, 'gnupg'),
      name: 'RM',
      email: 'rm@x',
    });
    stranger = await OpenPgpCommitSigner.fromGnupgHome({
      gnupgHome: path.join(root, 'gnupg-2'),
      name: 'Other',
      email: 'other@x',
    });
    const host = new LocalGitHost({
      rootDir: path.join(root, 'git'),
      baseUrl: 'http://localhost/repos',
    });
    await host.createRepo('config', { files: { 'README.md': 'config\n' } });
    writer = await GitOpsWriter.create({
      workDir: path.join(root, 'work'),
      remoteUrl: host.repoPath('config'),
    });
    writer.configureTrust({ signer });
    reader = new HistoryReader({
      cwd: writer.workDir,
      ref: writer.originRef,
      signer,
    });
  });
  afterAll(async () => {
    writer.close();
    await stopGpgAgent(path.join(root, 'gnupg'));
    await stopGpgAgent(path.join(root, 'gnupg-2'));
    await fs.rm(root, { recursive: true, force: true });
  });

  /** Every commit of the history as the reader reads it through git, by id. */
  const readThroughGit = async () => {
    const out = new Map<string, VerifiedCommit>();
    for await (const c of reader.commits()) out.set(c.sha, c);
    return out;
  };

  const bytesOf = (w: WrittenCommit, seq: number) =>
    reader.fromBytes({
      raw: w.raw,
      sha: w.sha,
      tree: w.tree,
      parent: w.parent,
      paths: w.paths,
      seq,
    });

  it('gives the same record as the reader gives from git, for every shape of commit the writer makes', async () => {
    const shapes: [string, Record<string, string | undefined>, string][] = [
      [
        'release',
        {
          'dev/releases/pay/payments/artifact.json': spec('a1'),
          'dev/releases/pay/payments/deployment.yaml': 'kind: A\n',
        },
        release({}),
      ],
      [
        'promote with a reason paragraph',
        {
          'staging/releases/pay/payments/artifact.json': spec('a1'),
          'staging/releases/pay/payments/deployment.yaml': 'kind: A\n',
        },
        release({
          environment: 'staging',
          intent: 'promote',
          promotedFrom: 'dev',
          reason: 'Ship the fix.\n\nSecond paragraph: ticket PAY-1.',
        }),
      ],
      [
        'rollback',
        {
          'dev/releases/pay/payments/artifact.json': spec('a0'),
          'dev/releases/pay/payments/deployment.yaml': 'kind: Z\n',
        },
        release({
          intent: 'rollback',
          artifactId: 'main-aaaaaaaaaa-abcdefabcd',
          rollbackOf: 'main-0123456789-abcdefabcd',
        }),
      ],
      [
        'production with approval, break-glass, freeze trailers',
        { 'prod/releases/pay/payments/artifact.json': spec('a1') },
        release({
          environment: 'prod',
          approvedBy: 'user:default/bob',
          approvalRequest: 'apr-42',
          breakGlass: 'database on fire',
          freezeWindow: 'fw-xmas',
          freezeOverride: 'hotfix',
          freezeIncidents: 'inc-1, inc-2',
        }),
      ],
      [
        'auto-release',
        { 'dev/releases/pay/payments/artifact.json': spec('a2') },
        release({
          intent: 'auto-release',
          policyAuthor: 'carol@bank.example',
          uploadedBy: 'external:ci',
        }),
      ],
      [
        'policy',
        { 'policies/payments.json': '{"service":"payments"}\n' },
        policyCommitMessage(
          'payments',
          'auto-release main to dev',
          'carol@bank.example',
        ),
      ],
      [
        'namespace move (folder removed under one namespace, written under another)',
        {
          'dev/releases/pay': undefined,
          'dev/releases/pay-2/payments/artifact.json': spec('a3', 'pay-2'),
          'dev/releases/pay-2/payments/deployment.yaml': 'kind: B\n',
        },
        release({ artifactId: 'main-bbbbbbbbbb-abcdefabcd' }),
      ],
      ['maintenance', { 'README.md': 'config, tidied\n' }, 'Tidy the README\n'],
      [
        'outside-change decision',
        {},
        '[outside-change] adopt 1 commit(s) made outside the release manager, by pat@bank.example\n\n- 0123456789ab by Pat <pat@x>: dev/releases/x/y/a.yaml\n\nOutside-change-decision: adopt\nOutside-change-commit: 0123456789abcdef0123456789abcdef01234567\nDecided-by: pat@bank.example\n',
      ],
    ];
    const written: { name: string; w: WrittenCommit }[] = [];
    for (const [name, files, message] of shapes) {
      const r = await writer.write(job(files, message));
      expect(r.pushed).toHaveLength(1);
      written.push({ name, w: r.pushed![0] });
    }
    const fromGit = await readThroughGit();
    const kinds = new Set<string>();
    for (const { name, w } of written) {
      const viaGit = fromGit.get(w.sha);
      expect({ name, record: viaGit && bytesOf(w, viaGit.seq) }).toEqual({
        name,
        record: viaGit,
      });
      expect(viaGit!.signature).toBe('good');
      kinds.add(viaGit!.kind);
    }
    // The shapes cover releases (with their info), policies and maintenance commits.
    expect([...kinds].sort()).toEqual(['maintenance', 'policy', 'release']);
    const move = written.find(x => x.name.startsWith('namespace move'))!.w;
    expect(releaseInfoOf(bytesOf(move, 1))).toMatchObject({
      namespace: 'pay-2',
      artifactId: 'main-bbbbbbbbbb-abcdefabcd',
    });
    expect(bytesOf(move, 1).paths).toEqual(
      expect.arrayContaining([
        'dev/releases/pay/payments/artifact.json',
        'dev/releases/pay-2/payments/artifact.json',
      ]),
    );
    const approved = written.find(x => x.name.startsWith('production'))!.w;
    expect(releaseInfoOf(bytesOf(approved, 1))).toMatchObject({
      approvedBy: 'user:default/bob',
      breakGlass: 'database on fire',
      freezeWindow: 'fw-xmas',
    });
  });

  it('refuses bytes that are not what the release manager signed', async () => {
    const r = await writer.write(
      job(
        { 'dev/releases/pay/payments/artifact.json': spec('t1') },
        release({ artifactId: 'main-cccccccccc-abcdefabcd' }),
      ),
    );
    const w = r.pushed![0];
    const refused = (
      input: Partial<Parameters<HistoryReader['fromBytes']>[0]>,
    ) => {
      try {
        reader.fromBytes({
          raw: w.raw,
          tree: w.tree,
          parent: w.parent,
          paths: w.paths,
          seq: 1,
          ...input,
        });
      } catch (e) {
        if (e instanceof CommitBytesRefused) return e;
        throw e;
      }
      throw new Error('not refused');
    };
    // The untouched bytes are accepted.
    expect(bytesOf(w, 1).sha).toBe(w.sha);
    // A trailer changed after signing (who released it).
    const forged = Buffer.from(
      w.raw
        .toString('utf8')
        .replace(
          'Artifact-released-by: alice@bank.example',
          'Artifact-released-by: mallory@x',
        ),
    );
    expect(forged.equals(w.raw)).toBe(false);
    expect(refused({ raw: forged }).tampered).toBe(true);
    // The same payload signed by another key.
    const foreign = stranger.signCommit(splitSignedCommit(w.raw).payload);
    expect(refused({ raw: foreign }).message).toMatch(/signature (bad|none)/);
    // No signature at all.
    expect(refused({ raw: splitSignedCommit(w.raw).payload }).message).toMatch(
      /signature none/,
    );
    // An id that is not the hash of the bytes.
    expect(refused({ sha: '0'.repeat(40) }).tampered).toBe(true);
    // Paths from another tree edit (tree or parent not the ones in the signed header).
    expect(refused({ tree: '1'.repeat(40) }).tampered).toBe(true);
    expect(refused({ parent: '2'.repeat(40) }).tampered).toBe(true);
  });

  it('leaves to git what it cannot read exactly as git does', async () => {
    const r = await writer.write(
      job(
        { 'README.md': 'again\n' },
        'Tidy\n\nSigned-off-by : someone\nnot a trailer\n',
      ),
    );
    const w = r.pushed![0];
    expect(() => bytesOf(w, 1)).toThrow(CommitBytesRefused);
    const c = [...(await readThroughGit()).values()].find(
      x => x.sha === w.sha,
    )!;
    expect(c.kind).toBe('maintenance');
  });
});
