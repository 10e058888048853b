/**
 * Upstream trainer output → events. Formats (GPT-SoVITS s2_train.py / s1_train.py):
 * - s2 (logging, usually prefixed "INFO:<exp>:" on stdout): "Train Epoch: 3 [42%]", a loss list
 *   "[d, g, fm, mel, kl_ssl, kl, global_step, lr]" every log_interval steps,
 *   "saving ckpt <exp>_e3:Success." after the epoch's weights are written, "====> Epoch: 3".
 * - s1 (PyTorch Lightning's tqdm bar on stderr, \r-separated, epochs counted from 0):
 *   "Epoch 2: 57%|█████▋ | 4/7 [00:02<00:01, 2.1it/s, v_num=0, total_loss_step=312., lr_step=0.002, top_3_acc_step=0.41]".
 * Anything else is ignored. Numbers only leave this module; lines never do.
 */

export type TrainerEvent =
  | { readonly type: 'epoch_progress'; readonly epoch: number; readonly fraction: number }
  | { readonly type: 'loss'; readonly loss: number }
  | { readonly type: 'checkpoint_saved'; readonly epoch: number }
  | { readonly type: 'epoch_done'; readonly epoch: number };

const FLOAT = String.raw`[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?`;

export function parseS2Line(line: string): TrainerEvent | null {
  let m = /Train Epoch: (\d+) \[(\d+(?:\.\d+)?)%\]/.exec(line);
  if (m) return { type: 'epoch_progress', epoch: Number(m[1]), fraction: Number(m[2]) / 100 };
  m = /saving ckpt \S+?_e(\d+):/.exec(line);
  if (m) return { type: 'checkpoint_saved', epoch: Number(m[1]) };
  m = /====> Epoch: (\d+)/.exec(line);
  if (m) return { type: 'epoch_done', epoch: Number(m[1]) };
  m = new RegExp(String.raw`\[(${FLOAT}(?:,\s*${FLOAT}){5,})\]\s*$`).exec(line);
  if (m) {
    const values = m[1]!.split(',').map((v) => Number(v.trim()));
    // loss_disc + loss_gen + fm + mel + kl_ssl + kl, as upstream's loss_gen_all adds them.
    const losses = values.slice(0, 6);
    if (losses.every(Number.isFinite)) return { type: 'loss', loss: losses.slice(1).reduce((a, b) => a + b, 0) };
  }
  return null;
}

export function parseS1Line(line: string): TrainerEvent[] {
  const events: TrainerEvent[] = [];
  const m = /Epoch (\d+):\s+(\d+)%/.exec(line);
  if (m) events.push({ type: 'epoch_progress', epoch: Number(m[1]) + 1, fraction: Number(m[2]) / 100 });
  const loss = new RegExp(`total_loss(?:_step|_epoch)?=(${FLOAT})`).exec(line);
  if (loss) events.push({ type: 'loss', loss: Number(loss[1]) });
  return events;
}
