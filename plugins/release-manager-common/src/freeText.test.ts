import { invalidFreeTextReason } from './freeText';

describe('invalidFreeTextReason', () => {
  it('accepts ordinary text, tabs, and newlines where the field allows them', () => {
    expect(invalidFreeTextReason('reason', 'Hotfix for the card timeout, see INC-42')).toBeUndefined();
    expect(invalidFreeTextReason('reason', 'first line\n\tsecond line', { multiline: true })).toBeUndefined();
    expect(invalidFreeTextReason('reason', undefined)).toBeUndefined();
    expect(invalidFreeTextReason('reason', 'Issue #42 = fixed; ratio 3:1')).toBeUndefined();
  });

  it.each([
    ['NUL', 'a\u0000b', 'U+0000'],
    ['escape (ANSI colour)', '\u001b[31mred', 'U+001B'],
    ['backspace', 'abc\bdef', 'U+0008'],
    ['vertical tab', 'a\u000bb', 'U+000B'],
    ['DEL', 'a\u007fb', 'U+007F'],
    ['C1 NEL', 'a\u0085b', 'U+0085'],
    ['line separator', 'a\u2028b', 'U+2028'],
    ['right-to-left override', 'a\u202eb', 'U+202E'],
    ['isolate', 'a\u2066b', 'U+2066'],
  ])('refuses %s naming the field and the character', (_what, value, code) => {
    const reason = invalidFreeTextReason('reason', value, { multiline: true });
    expect(reason).toMatch(/^reason contains the control character/);
    expect(reason).toContain(code);
  });

  it('refuses carriage returns and newlines in single-line fields', () => {
    expect(invalidFreeTextReason('application.authorName', 'Eve\r\nService: x')).toMatch(
      /^application.authorName contains a carriage return/,
    );
    expect(invalidFreeTextReason('application.authorName', 'Eve\nx')).toBe(
      'application.authorName must be a single line',
    );
  });

  it.each([
    'Service: payment-gateway',
    'ok\n\nArtifact-released-by: ceo@bank.example',
    '  Release-intent: rollback',
    'Signed-off-by: someone',
    'text\n---\nmore',
    '(cherry picked from commit abc)',
    'Key:',
  ])('refuses lines that read as trailers (%j)', value => {
    expect(invalidFreeTextReason('reason', value, { multiline: true })).toMatch(
      /^reason has a line that reads as a commit trailer/,
    );
  });

  it('accepts trailer-like lines only where asked (the application commit message is JSON data)', () => {
    expect(
      invalidFreeTextReason('application.message', 'Fix\n\nSigned-off-by: a <a@b>', {
        multiline: true,
        allowTrailerLines: true,
      }),
    ).toBeUndefined();
  });

  it('refuses overlong values with the limit', () => {
    expect(invalidFreeTextReason('reason', 'x'.repeat(2001), { multiline: true })).toBe(
      'reason is too long: at most 2000 characters',
    );
    expect(invalidFreeTextReason('name', 'x'.repeat(256))).toBe('name is too long: at most 255 characters');
    expect(invalidFreeTextReason('name', 'x'.repeat(20), { maxLength: 10 })).toBe(
      'name is too long: at most 10 characters',
    );
  });

  it('checks URLs and required values', () => {
    expect(invalidFreeTextReason('application.url', ['javascript', 'alert(1)'].join(':'), { url: true })).toBe(
      'application.url must be an http(s) URL',
    );
    expect(invalidFreeTextReason('application.url', 'https://git.example/x', { url: true })).toBeUndefined();
    expect(invalidFreeTextReason('overrideFreeze.reason', '  ', { required: true })).toBe(
      'overrideFreeze.reason is required',
    );
    expect(invalidFreeTextReason('reason', 42)).toBe('reason must be a string');
  });
});
