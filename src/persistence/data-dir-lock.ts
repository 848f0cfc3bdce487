import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

/**
 * A lock file holding the owner's pid. PGlite has no lock of its own, and two processes writing
 * one data directory corrupt it; this turns that into a clear error at boot. A lock whose process
 * is gone (a crash, a kill -9) is taken over.
 */
export class DataDirLock {
  /** Another PGlite in this process would corrupt the directory just the same. */
  private static readonly heldByThisProcess = new Set<string>();
  private released = false;

  private constructor(readonly path: string) {}

  static acquire(lockFilePath: string, purpose: string): DataDirLock {
    const path = resolve(lockFilePath);
    if (DataDirLock.heldByThisProcess.has(path)) {
      throw new Error(`${purpose} is already open in this process (lock ${path}).`);
    }
    // Two attempts: the second follows the removal of a stale lock.
    for (let attempt = 0; attempt < 2; attempt++) {
      if (tryCreate(path)) {
        DataDirLock.heldByThisProcess.add(path);
        return new DataDirLock(path);
      }
      const holder = readPid(path);
      if (holder !== null && holder !== process.pid && isAlive(holder)) {
        throw new Error(
          `${purpose} is in use by process ${holder} (lock ${path}). The embedded database ` +
            'allows one process per data directory: stop that process, or configure another ' +
            'dataDir or a database URL.',
        );
      }
      // The holder is gone, or is a pid this process inherited from a dead one (containers
      // restart with the same pids): the lock is stale.
      rmSync(path, { force: true });
    }
    throw new Error(`Could not lock ${purpose} (lock ${path}): another process raced for it.`);
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    DataDirLock.heldByThisProcess.delete(this.path);
    if (readPid(this.path) === process.pid) rmSync(this.path, { force: true });
  }
}

function tryCreate(path: string): boolean {
  try {
    writeFileSync(path, `${process.pid}\n`, { flag: 'wx' });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  }
}

function readPid(path: string): number | null {
  try {
    const pid = Number.parseInt(readFileSync(path, 'utf8').trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
