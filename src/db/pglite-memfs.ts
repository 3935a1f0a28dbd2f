import type { PGlite } from '@electric-sql/pglite';

/** The part of Emscripten's in-memory file system (MEMFS) that sizes a file's storage. */
interface MemfsNode {
  contents: Uint8Array;
  usedBytes: number;
}
interface Memfs {
  resizeFileStorage(node: MemfsNode, size: number): void;
  expandFileStorage(node: MemfsNode, capacity: number): void;
}

/**
 * Makes PGlite's in-memory files grow in amortised constant time when PostgreSQL extends them.
 *
 * PostgreSQL extends a relation by many blocks at once with posix_fallocate; Emscripten implements
 * that as ftruncate, and MEMFS's ftruncate reallocates the file to exactly the new size and copies
 * all of it. Each extension of a table of n bytes therefore costs O(n), and loading or writing a
 * table of a few hundred MB (the 10M rows of a 1M-group run, 100k model documents) spent most of its
 * time copying. Here a file that grows takes MEMFS's own geometric growth (expandFileStorage, as its
 * writes already do) and the new bytes are zeroed, as ftruncate requires; shrinking keeps the
 * original exact reallocation. File contents and sizes are the same as before.
 */
export function amortiseMemfsGrowth(pg: PGlite): boolean {
  const mod = (pg as unknown as { Module?: { MEMFS?: Memfs; FS?: { filesystems?: { MEMFS?: Memfs } } } }).Module;
  const fs = mod?.MEMFS ?? mod?.FS?.filesystems?.MEMFS;
  if (fs === undefined || typeof fs.resizeFileStorage !== 'function' || typeof fs.expandFileStorage !== 'function') return false;
  const exact = fs.resizeFileStorage;
  if ((exact as { amortised?: boolean }).amortised === true) return true;
  const grow = (node: MemfsNode, size: number): void => {
    if (size > node.usedBytes) {
      fs.expandFileStorage(node, size);
      node.contents.fill(0, node.usedBytes, size);
      node.usedBytes = size;
    } else exact.call(fs, node, size);
  };
  (grow as { amortised?: boolean }).amortised = true;
  fs.resizeFileStorage = grow;
  return true;
}
