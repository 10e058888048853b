/**
 * In-memory VoiceFiles: the new version's files are staged here and written to the real
 * (encrypted) store only after the export passed models check and the smoke test, so a failed
 * job writes nothing at all. `withGraphs` overlays candidate graphs for checkpoint scoring.
 */
import type { VoiceFiles } from '../../../backend.ts';

export class StagedVoiceFiles implements VoiceFiles {
  readonly #files = new Map<string, Uint8Array>();

  async write(name: string, data: Uint8Array): Promise<void> {
    this.#files.set(name, data.slice());
  }

  async read(name: string): Promise<Uint8Array> {
    const data = this.#files.get(name);
    if (!data) throw new Error(`no staged voice file ${name}`);
    return data;
  }

  async has(name: string): Promise<boolean> {
    return this.#files.has(name);
  }

  /** A read-only view of these files plus the given graphs. */
  withGraphs(graphs: Readonly<Record<string, Uint8Array>>): VoiceFiles {
    const overlay = new StagedVoiceFiles();
    for (const [k, v] of this.#files) overlay.#files.set(k, v);
    for (const [k, v] of Object.entries(graphs)) overlay.#files.set(k, v);
    return overlay;
  }

  /** Copies everything to the real store. */
  async commitTo(target: VoiceFiles): Promise<void> {
    for (const [name, data] of this.#files) await target.write(name, data);
  }
}
