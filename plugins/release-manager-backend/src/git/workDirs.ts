import fs from 'node:fs';
import path from 'node:path';

function pidAlive(pid: number): boolean {
  if (!(pid > 0) || pid === process.pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e: any) {
    return e?.code === 'EPERM';
  }
}

/**
 * Claims a working directory for this process: if another live process holds `dir`, a
 * per-process sibling `<dir>-<pid>` is used, so two replicas on one data directory never share a
 * clone. Per-process siblings whose process is gone are removed first (reclaimed), and a
 * per-process clone is removed again on release.
 */
export function claimWorkDir(dir: string): { dir: string; release: () => void; reclaimed: string[] } {
  const parent = path.dirname(dir);
  fs.mkdirSync(parent, { recursive: true });
  const base = path.basename(dir);
  const reclaimed: string[] = [];
  for (const name of fs.readdirSync(parent)) {
    const m = new RegExp(`^${base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-(\\d+)$`).exec(name);
    if (!m) continue;
    const sibling = path.join(parent, name);
    let holder = Number(m[1]);
    try {
      holder = Number(fs.readFileSync(`${sibling}.lock`, 'utf8')) || holder;
    } catch {
      // no lock: nobody holds it
    }
    if (pidAlive(holder)) continue;
    fs.rmSync(sibling, { recursive: true, force: true });
    fs.rmSync(`${sibling}.lock`, { force: true });
    reclaimed.push(sibling);
  }
  const tryClaim = (candidate: string): boolean => {
    const lock = `${candidate}.lock`;
    try {
      fs.writeFileSync(lock, String(process.pid), { flag: 'wx' });
      return true;
    } catch {
      const pid = Number(fs.readFileSync(lock, 'utf8'));
      if (pidAlive(pid)) return false;
      fs.writeFileSync(lock, String(process.pid));
      return true;
    }
  };
  const chosen = tryClaim(dir) ? dir : `${dir}-${process.pid}`;
  if (chosen !== dir) tryClaim(chosen);
  return {
    dir: chosen,
    reclaimed,
    release: () => {
      if (chosen !== dir) fs.rmSync(chosen, { recursive: true, force: true });
      fs.rmSync(`${chosen}.lock`, { force: true });
    },
  };
}
