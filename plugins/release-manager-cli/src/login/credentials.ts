import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** A sign-in kept by `release-manager login` (one per backend). */
export interface StoredLogin {
  /** Backend base URL, e.g. `https://portal.example.com` (no `/api/...`). */
  backendUrl: string;
  accessToken: string;
  /** ISO time the access token expires. */
  expiresAt: string;
  /** Present when the portal grants offline access (`auth.experimentalRefreshToken`). */
  refreshToken?: string;
  /** Who signed in (the token's subject), for `login --status`. */
  user?: string;
}

/** Where credentials live: `$RELEASE_MANAGER_CONFIG_DIR`, else `$XDG_CONFIG_HOME/devplane`, else `~/.config/devplane`. */
export function configDir(env: Record<string, string | undefined>): string {
  if (env.RELEASE_MANAGER_CONFIG_DIR) return env.RELEASE_MANAGER_CONFIG_DIR;
  const base = env.XDG_CONFIG_HOME || path.join(env.HOME || os.homedir(), '.config');
  return path.join(base, 'devplane');
}

function file(dir: string): string {
  return path.join(dir, 'release-manager-credentials.json');
}

function readAll(dir: string): StoredLogin[] {
  try {
    const parsed = JSON.parse(fs.readFileSync(file(dir), 'utf8'));
    return Array.isArray(parsed?.logins) ? parsed.logins : [];
  } catch {
    return [];
  }
}

/** The stored sign-in for a backend, if any. */
export function readLogin(dir: string, backendUrl: string): StoredLogin | undefined {
  return readAll(dir).find(l => l.backendUrl === backendUrl);
}

/**
 * Stores (or replaces) the sign-in for a backend. The file is created with mode 0600 inside a
 * 0700 directory, and written to a temporary file first so a crash never leaves half a token.
 */
export function writeLogin(dir: string, login: StoredLogin): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const logins = readAll(dir).filter(l => l.backendUrl !== login.backendUrl);
  logins.push(login);
  const target = file(dir);
  const tmp = `${target}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify({ logins }, null, 2)}\n`, { mode: 0o600 });
  fs.chmodSync(tmp, 0o600);
  fs.renameSync(tmp, target);
}

/** Forgets the sign-in for a backend; true when there was one. */
export function removeLogin(dir: string, backendUrl: string): boolean {
  const all = readAll(dir);
  const rest = all.filter(l => l.backendUrl !== backendUrl);
  if (rest.length === all.length) return false;
  const target = file(dir);
  const tmp = `${target}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, `${JSON.stringify({ logins: rest }, null, 2)}\n`, { mode: 0o600 });
  fs.renameSync(tmp, target);
  return true;
}

/** `https://portal/api/release-manager` → `https://portal`. */
export function backendUrlOf(releaseManagerUrl: string): string {
  const u = new URL(releaseManagerUrl);
  u.pathname = u.pathname.replace(/\/+$/, '').replace(/\/api\/release-manager$/, '') || '/';
  u.search = '';
  u.hash = '';
  return u.toString().replace(/\/+$/, '');
}
