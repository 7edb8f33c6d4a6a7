import { parseTrailers, releaseCommitMessage, releaseInfoFromMessage } from './commitMessage';

describe('release commit messages', () => {
  it('formats the title and trailers of ARCHITECTURE.md and reads them back', () => {
    const msg = releaseCommitMessage({
      service: 'ledger',
      environment: 'prod',
      artifactId: 'main-0123456789-abcdefabcd',
      releasedBy: 'alice@bank.example',
      artifactCreatedBy: 'dev@bank.example',
      intent: 'rollback',
      branch: 'main',
      rollbackOf: 'main-9999999999-abcdefabcd',
      reason: 'broken\nlogin',
    });
    expect(msg).toBe(
      [
        '[prod/ledger] rollback main-0123456789-abcdefabcd by alice@bank.example',
        '',
        'broken',
        'login',
        '',
        'Service: ledger',
        'Environment: prod',
        'Artifact-ID: main-0123456789-abcdefabcd',
        'Artifact-released-by: alice@bank.example',
        'Artifact-created-by: dev@bank.example',
        'Release-intent: rollback',
        'Release-of-branch: main',
        'Rollback-of-artifact-id: main-9999999999-abcdefabcd',
        '',
      ].join('\n'),
    );
    expect(releaseInfoFromMessage(msg)).toMatchObject({
      service: 'ledger',
      environment: 'prod',
      intent: 'rollback',
      rollbackOf: 'main-9999999999-abcdefabcd',
      reason: 'broken\nlogin',
    });
  });

  it('uses "auto release" in titles and ignores non-release commits', () => {
    const msg = releaseCommitMessage({
      service: 's',
      environment: 'dev',
      artifactId: 'a-1',
      releasedBy: 'ci',
      artifactCreatedBy: 'x',
      intent: 'auto-release',
    });
    expect(msg.split('\n')[0]).toBe('[dev/s] auto release a-1 by ci');
    expect(releaseInfoFromMessage('[policies/s] change\n\nService: s\n')).toBeUndefined();
    expect(parseTrailers('title only').trailers).toEqual({});
  });

  it('refuses newlines in titles and trailers instead of writing them', () => {
    expect(() =>
      releaseCommitMessage({
        service: 's',
        environment: 'dev',
        artifactId: 'a-1',
        releasedBy: 'evil\nService: other',
        artifactCreatedBy: 'x',
        intent: 'release',
      }),
    ).toThrow('Refusing to write the commit: Artifact-released-by must be a single line');
  });

  it('records a production freeze override as single-line trailers and reads it back', () => {
    const msg = releaseCommitMessage({
      service: 'payment-gateway',
      environment: 'prod',
      artifactId: 'main-0123456789-abcdefabcd',
      releasedBy: 'alice@bank.example',
      artifactCreatedBy: 'dev@bank.example',
      intent: 'rollback',
      freezeOverride: 'rollback during incident',
      freezeIncidents: 'INC-1, INC-2',
    });
    expect(msg).toContain('\nFreeze-override: rollback during incident\nFreeze-incidents: INC-1, INC-2\n');
    const info = releaseInfoFromMessage(msg)!;
    expect(info.freezeOverride).toBe('rollback during incident');
    expect(info.freezeIncidents).toBe('INC-1, INC-2');
  });
});

describe('commit messages defend against structure in free text', () => {
  const base = {
    service: 'ledger',
    environment: 'prod',
    artifactId: 'main-0123456789-abcdefabcd',
    releasedBy: 'alice@bank.example',
    artifactCreatedBy: 'dev@bank.example',
    intent: 'release' as const,
  };

  it.each([
    ['a trailer line in the reason', { reason: 'ok\n\nArtifact-released-by: ceo@bank.example' }, /reason has a line that reads as a commit trailer/],
    ['a control character in the reason', { reason: 'a\u001b[2Jb' }, /reason contains the control character U\+001B/],
    ['a newline in a trailer value', { artifactCreatedBy: 'eve\nRelease-intent: rollback' }, /Artifact-created-by must be a single line/],
    ['a NUL in a trailer value', { freezeOverride: 'x\u0000y' }, /Freeze-override contains the control character U\+0000/],
    ['an overlong reason', { reason: 'x'.repeat(2001) }, /reason is too long/],
  ])('refuses %s', (_what, extra, message) => {
    expect(() => releaseCommitMessage({ ...base, ...extra })).toThrow(message);
  });

  it('names the policy author and the uploader of an auto-release in trailers', () => {
    const msg = releaseCommitMessage({
      ...base,
      intent: 'auto-release',
      policyAuthor: 'alice@bank.example',
      uploadedBy: 'external:ci',
    });
    expect(parseTrailers(msg).trailers).toMatchObject({
      'Auto-release-policy-by': 'alice@bank.example',
      'Artifact-uploaded-by': 'external:ci',
    });
    expect(releaseInfoFromMessage(msg)).toMatchObject({ policyAuthor: 'alice@bank.example', uploadedBy: 'external:ci' });
  });

  it('records four-eyes approval, break-glass and the freeze window as trailers and reads them back', () => {
    const msg = releaseCommitMessage({
      ...base,
      releasedBy: 'user:default/payments-dev',
      approvedBy: 'user:default/payments-dev-2',
      approvalRequest: 'apr-42',
      breakGlass: 'card outage, hotfix',
      freezeWindow: 'weekend',
    });
    expect(parseTrailers(msg).trailers).toMatchObject({
      'Artifact-released-by': 'user:default/payments-dev',
      'Approved-by': 'user:default/payments-dev-2',
      'Approval-request': 'apr-42',
      'Break-glass': 'card outage, hotfix',
      'Freeze-window': 'weekend',
    });
    expect(releaseInfoFromMessage(msg)).toMatchObject({
      approvedBy: 'user:default/payments-dev-2',
      approvalRequest: 'apr-42',
      breakGlass: 'card outage, hotfix',
      freezeWindow: 'weekend',
    });
    expect(() => releaseCommitMessage({ ...base, approvedBy: 'x\nService: forged' })).toThrow(/Approved-by/);
  });
});
