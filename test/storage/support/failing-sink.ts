import { nodeFileSink, type FileSink } from '../../../src/storage/encrypted-file.ts';

/**
 * A FileSink over the real filesystem that runs out of space after `budget` bytes:
 * the write that crosses the budget lands partially (as a real full disk does) and
 * then fails with ENOSPC (or another code). Records the temp paths it created.
 */
export function failingSink(budget: number, code = 'ENOSPC'): FileSink & { created: string[] } {
  let written = 0;
  const created: string[] = [];
  return {
    created,
    async create(path) {
      created.push(path);
      const real = await nodeFileSink.create(path);
      return {
        async write(data, position) {
          const room = budget - written;
          if (data.byteLength > room) {
            if (room > 0) await real.write(data.subarray(0, room), position);
            written = budget;
            throw Object.assign(new Error(`${code}: no space left on device, write`), { code });
          }
          written += data.byteLength;
          await real.write(data, position);
        },
        sync: () => real.sync(),
        close: () => real.close(),
      };
    },
    rename: nodeFileSink.rename,
    remove: nodeFileSink.remove,
    syncDir: nodeFileSink.syncDir,
  };
}
