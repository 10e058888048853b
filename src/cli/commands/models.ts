import { fileURLToPath } from 'node:url';
import type { CliContext } from '../cli-context.ts';
import { ok, refused, UsageError, type CommandResult } from '../cli-io.ts';
import { checkModels, fetchModels, loadManifest, manifestPathFor } from '../../engine/backends/gpt-sovits/index.ts';

const DEFAULT_MANIFEST = fileURLToPath(new URL('../../../models/gpt-sovits-v2.manifest.json', import.meta.url));

/** `vocalis models check --dir DIR` | `vocalis models fetch --dir DIR [--base-url URL]` (needs no runtime). */
export async function modelsCommand(ctx: CliContext, action: string | undefined): Promise<CommandResult> {
  const dir = ctx.option('dir') ?? process.env['GPT_SOVITS_MODELS_DIR'];
  if (!dir) throw new UsageError('models needs --dir DIR (or GPT_SOVITS_MODELS_DIR)');
  if (action === 'check') {
    // The directory's own manifest (written by export_onnx.py) or the shipped one for its graphs.
    const manifest = await loadManifest(ctx.option('manifest') ?? manifestPathFor(dir));
    const mismatches = await checkModels(dir, manifest);
    return mismatches.length === 0
      ? ok({ dir, mismatches }, `${dir}: every graph matches the manifest.`)
      : refused({ dir, mismatches }, [`${dir}: ${mismatches.length} mismatch(es):`, ...mismatches.map((m) => `  ${m.file}: ${m.problem}`)].join('\n'));
  }
  if (action === 'fetch') {
    const manifest = await loadManifest(ctx.option('manifest') ?? DEFAULT_MANIFEST);
    const baseUrl = ctx.option('base-url');
    const report = await fetchModels(manifest, dir, baseUrl ? { baseUrl } : {});
    const lines = [
      `downloaded: ${report.downloaded.join(', ') || 'none'}`,
      `already present: ${report.unchanged.join(', ') || 'none'}`,
      ...(report.noSource.length ? [`no download source (export these yourself, see docs/backends/gpt-sovits.md): ${report.noSource.join(', ')}`] : []),
    ];
    return report.noSource.length ? refused(report, lines.join('\n')) : ok(report, lines.join('\n'));
  }
  throw new UsageError('models needs: check or fetch');
}
