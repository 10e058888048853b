export { createGptSovitsBackend, GptSovitsBackend, MODEL_FILES } from './gpt-sovits-backend.ts';
export type { GptSovitsOptions, StreamingMode } from './options.ts';
export { checkModels, loadManifest } from './models-check.ts';
export { manifestPathFor } from './manifest.ts';
export type { Manifest, ModelMismatch } from './models-check.ts';
export { fetchModels, ModelFetchError } from './models-fetch.ts';
export type { FetchOptions, FetchReport } from './models-fetch.ts';
export { textToSegments } from './text/front-end.ts';
