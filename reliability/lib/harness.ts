/* eslint-disable no-console */
import http from 'node:http';
import knexFactory, { Knex } from 'knex';
import { runGit } from '@devplane/plugin-git-host-node';

export const results: { section: string; name: string; ok: boolean; detail: string; skipped?: boolean }[] = [];
export const counters = { lostUpdates: 0, duplicates: 0, corruptions: 0, casesTried: 0 };

export async function check(section: string, name: string, fn: () => Promise<string | void>, timeoutMs = 60_000) {
  counters.casesTried++;
  let timer: NodeJS.Timeout | undefined;
  try {
    const detail = await Promise.race([
      fn(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    results.push({ section, name, ok: true, detail: detail ?? '' });
    console.log(`  ok    ${section}: ${name}${detail ? ` — ${detail}` : ''}`);
  } catch (e: any) {
    results.push({ section, name, ok: false, detail: String(e?.message ?? e) });
    console.log(`  FAIL  ${section}: ${name} — ${String(e?.message ?? e).split('\n').slice(0, 3).join(' | ')}`);
  } finally {
    clearTimeout(timer);
  }
}

/** Records a case (or a whole section) that could not run here: counted as skipped, never as passed. */
export function skip(section: string, name: string, reason: string) {
  results.push({ section, name, ok: false, skipped: true, detail: reason });
  console.log(`  skipped  ${section}: ${name} — ${reason}`);
}

export function assert(cond: unknown, message: string): asserts cond {
  if (!cond) throw new Error(message);
}

export interface Res {
  status: number;
  text: string;
  json?: any;
  ms: number;
}

/** HTTP to loopback only; `path` is sent byte for byte (no URL normalisation). */
export function request(
  baseUrl: string,
  method: string,
  path: string,
  options: { auth?: string; body?: unknown; raw?: string | Buffer; contentType?: string; timeoutMs?: number } = {},
): Promise<Res> {
  const u = new URL(baseUrl);
  if (u.hostname !== '127.0.0.1' && u.hostname !== 'localhost') throw new Error(`refusing non-loopback ${baseUrl}`);
  const payload =
    options.raw !== undefined ? options.raw : options.body !== undefined ? JSON.stringify(options.body) : undefined;
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: u.hostname,
        port: u.port,
        method,
        path: `${u.pathname.replace(/\/$/, '')}${path}`,
        headers: {
          ...(options.auth ? { Authorization: options.auth } : {}),
          ...(payload !== undefined
            ? { 'Content-Type': options.contentType ?? 'application/json', 'Content-Length': Buffer.byteLength(payload) }
            : {}),
        },
        timeout: options.timeoutMs ?? 30_000,
      },
      res => {
        const chunks: Buffer[] = [];
        res.on('data', c => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: any;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode ?? 0, text, json, ms: Date.now() - t0 });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error('request timed out')));
    req.on('error', reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

export function errorMessage(r: Res): string {
  return r.json?.error?.message ?? r.text.slice(0, 200);
}

export const PG_URL = process.env.DEVPLANE_PG_URL ?? 'postgresql://postgres@127.0.0.1:5432';

export async function freshDatabase(prefix: string) {
  const admin = knexFactory({ client: 'pg', connection: `${PG_URL}/postgres`, pool: { min: 0, max: 1 } });
  const name = `${prefix}_${Date.now().toString(36)}_${process.pid}`;
  await admin.raw(`CREATE DATABASE "${name}"`);
  const connection = `${PG_URL}/${name}`;
  let clients: Knex[] = [];
  return {
    connection,
    /** The backend's database service makes one database per plugin: `<prefix><pluginId>`. */
    prefix: `${name}_`,
    knexFor(dbName: string) {
      const k = knexFactory({ client: 'pg', connection: `${PG_URL}/${dbName}`, pool: { min: 0, max: 2 } });
      clients.push(k);
      return k;
    },
    async drop() {
      await Promise.all(clients.map(c => c.destroy()));
      clients = [];
      const rows = await admin.raw(`SELECT datname FROM pg_database WHERE datname LIKE ?`, [`${name}%`]);
      for (const r of rows.rows) await admin.raw(`DROP DATABASE IF EXISTS "${r.datname}" WITH (FORCE)`).catch(() => undefined);
      await admin.raw(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`).catch(() => undefined);
      await admin.destroy();
    },
    admin,
    name,
  };
}

export async function gitOut(cwd: string, args: string[]): Promise<string> {
  return (await runGit(args, { cwd })).stdout;
}

export const sleep = (ms: number) => new Promise(r => setTimeout(r, ms));
