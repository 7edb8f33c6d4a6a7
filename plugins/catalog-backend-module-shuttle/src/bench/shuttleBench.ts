import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { Entity } from '@backstage/catalog-model';
import { NotFoundError, NotModifiedError } from '@backstage/errors';
import { UrlReaderService } from '@backstage/backend-plugin-api';
import { CatalogProcessor, CatalogProcessorResult, EntityProviderMutation } from '@backstage/plugin-catalog-node';
import { LocalGitHost, LocalGitHostUrlReader } from '@devplane/plugin-git-host-node';
import { ShuttleProcessor } from '../processor/ShuttleProcessor';
import { GroupDirectory } from '../processor/GroupDirectory';
import { ShuttleFileReader } from '../shuttle/ShuttleFileReader';
import { ShuttleDiscoveryProvider } from '../provider/ShuttleDiscoveryProvider';
import { LocalGitHostRepoSource, ShuttleRepoCandidate, ShuttleRepoSource } from '../provider/sources';

const BASE = 'http://localhost:7007/api/git-host/repos';
const SQUADS = ['payments', 'lending', 'onboarding', 'platform'];

const silentLogger: any = {
  info() {}, warn() {}, error() {}, debug() {}, child() { return silentLogger; },
};

const PLANS = [
  'plan: false',
  'plan: ../the-plan',
  'plan: https://github.com/lunarway/shuttle-example-go-plan.git#v1.2.0',
];

function shuttleText(i: number) {
  return [
    PLANS[i % PLANS.length],
    'vars:',
    `  service: svc-${i}`,
    `  squad: ${SQUADS[i % SQUADS.length]}`,
    '  system: banking-core',
    '  k8s:',
    `    namespace: ${SQUADS[i % SQUADS.length]}`,
    '  docker:',
    '    baseImage: node:22-alpine',
    'scripts:',
    '  build:',
    '    actions:',
    '      - shell: docker build .',
    '',
  ].join('\n');
}

/**
 * An in-memory URL reader answering like the real ones: the content and an ETag on the first
 * read, NotModifiedError when the caller's ETag matches.
 */
export class InMemoryEtagUrlReader implements UrlReaderService {
  reads = 0;
  notModified = 0;
  constructor(private readonly files: Map<string, { etag: string; content: Buffer }>) {}
  async readUrl(url: string, options?: { etag?: string }) {
    this.reads++;
    const f = this.files.get(url);
    if (!f) throw new NotFoundError(url);
    if (options?.etag === f.etag) {
      this.notModified++;
      throw new NotModifiedError();
    }
    return { buffer: async () => f.content, stream: () => Readable.from([f.content]), etag: f.etag };
  }
  async readTree(): Promise<any> {
    throw new Error('not used');
  }
  async search(): Promise<any> {
    throw new Error('not used');
  }
}

function entityFor(name: string): Entity {
  return {
    apiVersion: 'backstage.io/v1alpha1',
    kind: 'Component',
    metadata: { name, annotations: { 'backstage.io/managed-by-location': `url:${BASE}/${name}/blob/main/catalog-info.yaml` } },
    spec: { type: 'service', lifecycle: 'production' },
  };
}

async function pass(processor: CatalogProcessor, entities: Entity[]): Promise<{ ms: number; errors: number }> {
  let errors = 0;
  const emit = (r: CatalogProcessorResult) => {
    if (r.type === 'error') errors++;
  };
  const t0 = performance.now();
  for (const e of entities) {
    const location = { type: 'url', target: `${BASE}/${e.metadata.name}/blob/main/catalog-info.yaml` };
    await processor.preProcessEntity!(e, location, emit, location, undefined as any);
  }
  return { ms: performance.now() - t0, errors };
}

const noopProcessor: CatalogProcessor = {
  getProcessorName: () => 'Noop',
  preProcessEntity: async e => e,
};

function groupDirectory() {
  return new GroupDirectory({
    catalog: {
      getEntities: async () => ({
        items: SQUADS.map(s => ({ apiVersion: 'backstage.io/v1alpha1', kind: 'Group', metadata: { name: s, namespace: 'default' } })),
      }),
    } as any,
    auth: { getOwnServiceCredentials: async () => ({ $$type: '@backstage/BackstageCredentials', principal: { type: 'service', subject: 'bench' } }) } as any,
    ttlSeconds: 30,
  });
}

function median(xs: number[]) {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Processor overhead per entity against a no-op processor in the same run. */
export async function benchProcessor(count = 5000, warmPasses = 5) {
  const files = new Map<string, { etag: string; content: Buffer }>();
  const entities: Entity[] = [];
  for (let i = 0; i < count; i++) {
    const name = `svc-${i}`;
    files.set(`${BASE}/${name}/blob/main/shuttle.yaml`, { etag: `sha-${i}`, content: Buffer.from(shuttleText(i)) });
    entities.push(entityFor(name));
  }
  const urlReader = new InMemoryEtagUrlReader(files);
  const reader = new ShuttleFileReader({ urlReader, isTrustedReaderUrl: u => u.startsWith(BASE), cacheSize: count * 2 });
  const processor = new ShuttleProcessor({ reader, groups: groupDirectory() });

  await pass(noopProcessor, entities); // warm the JIT for the loop itself
  const cold = await pass(processor, entities);
  const noop: number[] = [];
  const warm: number[] = [];
  let errors = cold.errors;
  for (let i = 0; i < warmPasses; i++) {
    noop.push((await pass(noopProcessor, entities)).ms);
    const w = await pass(processor, entities);
    warm.push(w.ms);
    errors += w.errors;
  }
  const noopMs = median(noop);
  const warmMs = median(warm);
  return {
    entities: count,
    warmPasses,
    noopMsPerEntity: noopMs / count,
    coldMsPerEntity: (cold.ms - noopMs) / count,
    warmMsPerEntity: (warmMs - noopMs) / count,
    targetMsPerEntity: 0.2,
    errors,
    parses: reader.stats.parses,
    notModified: reader.stats.notModified,
  };
}

/** The same processor with the real local git host URL reader (git CLI), for a smaller count. */
export async function benchProcessorRealGit(count = 50) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shuttle-bench-proc-'));
  try {
    const host = new LocalGitHost({ rootDir: tmp, baseUrl: BASE });
    const entities: Entity[] = [];
    for (let i = 0; i < count; i++) {
      await host.createRepo(`svc-${i}`, { files: { 'shuttle.yaml': shuttleText(i) } });
      entities.push(entityFor(`svc-${i}`));
    }
    const reader = new ShuttleFileReader({ urlReader: new LocalGitHostUrlReader(host) as any, isTrustedReaderUrl: u => host.handles(u) });
    const processor = new ShuttleProcessor({ reader, groups: groupDirectory() });
    const noop = await pass(noopProcessor, entities);
    const cold = await pass(processor, entities);
    const warm = await pass(processor, entities);
    return {
      entities: count,
      coldMsPerEntity: (cold.ms - noop.ms) / count,
      warmMsPerEntity: (warm.ms - noop.ms) / count,
      errors: cold.errors + warm.errors,
    };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

class FakeListingSource implements ShuttleRepoSource {
  readonly id = 'fake';
  constructor(private readonly count: number) {}
  async discover() {
    const candidates: ShuttleRepoCandidate[] = [];
    for (let i = 0; i < this.count; i++) {
      const repo = `svc-${i}`;
      candidates.push({
        repo,
        shuttleUrl: `${BASE}/${repo}/blob/main/shuttle.yaml`,
        sourceUrl: `${BASE}/${repo}/tree/main/`,
        version: `sha-${i}`,
        read: async () => Buffer.from(shuttleText(i)),
      });
    }
    return { scanned: this.count, candidates };
  }
}

async function timeRuns(source: ShuttleRepoSource) {
  const provider = new ShuttleDiscoveryProvider({ source, logger: silentLogger });
  let emitted = 0;
  await provider.connect({
    applyMutation: async (m: EntityProviderMutation) => {
      emitted = m.type === 'full' ? m.entities.length : 0;
    },
    refresh: async () => {},
  });
  const t0 = performance.now();
  const first = await provider.refresh();
  const t1 = performance.now();
  const second = await provider.refresh();
  const t2 = performance.now();
  return { scanned: first.scanned, emitted, coldMs: t1 - t0, warmMs: t2 - t1, warmParsed: second.parsed };
}

/** Discovery of `count` repositories from a fake host listing (no git, no I/O). */
export async function benchDiscoveryFake(count = 5000) {
  return timeRuns(new FakeListingSource(count));
}

/** Discovery against a real LocalGitHost (git CLI per repository). */
export async function benchDiscoveryRealGit(count = 200) {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'shuttle-bench-disc-'));
  try {
    const host = new LocalGitHost({ rootDir: tmp, baseUrl: BASE });
    const t0 = performance.now();
    for (let i = 0; i < count; i++) {
      await host.createRepo(`svc-${i}`, { files: { 'shuttle.yaml': shuttleText(i) } });
    }
    const setupMs = performance.now() - t0;
    return { ...(await timeRuns(new LocalGitHostRepoSource(host))), setupMs };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

/** Runs everything; the shape written to bench/results/shuttle.json. */
export async function runShuttleBench(options: { entities?: number; repos?: number; realGitRepos?: number; realGitEntities?: number } = {}) {
  const processor = await benchProcessor(options.entities ?? 5000);
  const discoveryFake = await benchDiscoveryFake(options.repos ?? 5000);
  const processorRealGit = await benchProcessorRealGit(options.realGitEntities ?? 50);
  const discoveryRealGit = await benchDiscoveryRealGit(options.realGitRepos ?? 200);
  return {
    at: new Date().toISOString(),
    node: process.version,
    cpus: os.cpus().length,
    processor,
    processorRealGit,
    discoveryFake,
    discoveryRealGit,
  };
}
