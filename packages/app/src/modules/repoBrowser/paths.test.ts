import { browseUrl, findReadme, listDirectory, parseBrowsePath } from './paths';

describe('repository browser paths', () => {
  it('parses tree and blob URLs, with nested paths and encoded names', () => {
    expect(parseBrowsePath('payment-gateway/tree/main')).toEqual({
      repo: 'payment-gateway', kind: 'tree', ref: 'main', path: '',
    });
    expect(parseBrowsePath('payment-gateway/blob/main/k8s/deployment.yaml')).toEqual({
      repo: 'payment-gateway', kind: 'blob', ref: 'main', path: 'k8s/deployment.yaml',
    });
    expect(parseBrowsePath('team/svc/tree/dev/a%20b')).toEqual({
      repo: 'team/svc', kind: 'tree', ref: 'dev', path: 'a b',
    });
    expect(parseBrowsePath('svc')).toEqual({ repo: 'svc', kind: 'tree', ref: 'main', path: '' });
  });

  it('refuses relative segments and malformed URLs', () => {
    expect(parseBrowsePath('svc/blob/main/../../etc/passwd')).toBeUndefined();
    expect(parseBrowsePath('svc/blob/main/%2e%2e/x')).toBeUndefined();
    expect(parseBrowsePath('svc/blob/main/a%2Fb')).toBeUndefined();
    expect(parseBrowsePath('svc/blob/main/%E0%A4%A')).toBeUndefined();
    expect(parseBrowsePath('')).toBeUndefined();
    expect(parseBrowsePath('svc/commits/main')).toBeUndefined();
  });

  it('lists a directory from the recursive file list, directories first', () => {
    const files = ['README.md', 'k8s/deployment.yaml', 'k8s/service.yaml', 'docs/index.md', 'api/x.proto', 'shuttle.yaml'];
    expect(listDirectory(files, '')).toEqual([
      { name: 'api', type: 'dir', path: 'api' },
      { name: 'docs', type: 'dir', path: 'docs' },
      { name: 'k8s', type: 'dir', path: 'k8s' },
      { name: 'README.md', type: 'file', path: 'README.md' },
      { name: 'shuttle.yaml', type: 'file', path: 'shuttle.yaml' },
    ]);
    expect(listDirectory(files, 'k8s')?.map(e => e.name)).toEqual(['deployment.yaml', 'service.yaml']);
    expect(listDirectory(files, 'nope')).toBeUndefined();
    expect(listDirectory(files, 'k8')).toBeUndefined();
    expect(findReadme(listDirectory(files, '')!)?.path).toBe('README.md');
    expect(findReadme(listDirectory(files, 'k8s')!)).toBeUndefined();
  });

  it('builds portal URLs that round-trip', () => {
    const url = browseUrl('svc', 'blob', 'main', 'docs/a b.md');
    expect(url).toBe('/git-host/svc/blob/main/docs/a%20b.md');
    expect(parseBrowsePath(url.slice('/git-host/'.length))).toEqual({
      repo: 'svc', kind: 'blob', ref: 'main', path: 'docs/a b.md',
    });
  });
});
