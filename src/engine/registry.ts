import { BackendError, type VoiceBackend } from './backend.ts';

/** Backends by name. Built once at start from configuration; never mutated per request. */
export class BackendRegistry {
  readonly #backends = new Map<string, VoiceBackend>();
  readonly defaultName: string;

  constructor(backends: readonly VoiceBackend[], defaultName: string) {
    for (const backend of backends) {
      if (this.#backends.has(backend.info.name)) throw new Error(`backend "${backend.info.name}" registered twice`);
      this.#backends.set(backend.info.name, backend);
    }
    if (!this.#backends.has(defaultName)) {
      throw new Error(`default backend "${defaultName}" is not available; available: ${this.names().join(', ') || 'none'}`);
    }
    this.defaultName = defaultName;
  }

  get(name: string = this.defaultName): VoiceBackend {
    const backend = this.#backends.get(name);
    if (!backend) throw new UnknownBackendError(name, this.names());
    return backend;
  }

  names(): string[] {
    return [...this.#backends.keys()];
  }

  async close(): Promise<void> {
    await Promise.all([...this.#backends.values()].map((backend) => backend.close?.()));
  }
}

/** A backend name nobody registered: one of the backend errors, with its own type for callers that test for it. */
export class UnknownBackendError extends BackendError {
  declare readonly code: 'unknown_backend';
  constructor(name: string, available: readonly string[]) {
    super('unknown_backend', `unknown backend "${name}"; available: ${available.join(', ')}`);
    this.name = 'UnknownBackendError';
  }
}
