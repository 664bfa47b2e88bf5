import type { TextTokenizer } from '../model/tokenizer.js';
import type { Example } from './dataset.js';

/**
 * A tokenised, right-padded batch. `labels[b][t]` is the id the model should predict at
 * position t (the next token), or −1 where no loss applies (prompt, padding).
 */
export interface Batch {
  readonly ids: number[][];
  readonly labels: number[][];
  readonly attention: number[][];
  readonly tokens: number;
}

/**
 * prompt + answer + eos, right-padded to the longest; loss on the answer and the end token
 * only (`promptLoss` adds loss on prompt tokens too, for plain-text data).
 */
export function encodeBatch(examples: readonly Example[], tok: TextTokenizer, eosId: number, padId: number, promptLoss = false): Batch {
  const seqs = examples.map((e) => {
    const p = tok.encode(e.prompt);
    const a = tok.encode(e.answer);
    return { ids: [...p, ...a, eosId], start: promptLoss ? 0 : p.length - 1 };
  });
  const t = Math.max(...seqs.map((s) => s.ids.length)) - 1;
  const ids: number[][] = [];
  const labels: number[][] = [];
  const attention: number[][] = [];
  let tokens = 0;
  for (const s of seqs) {
    const row = s.ids.slice(0, -1);
    const lab = s.ids.slice(1).map((id, i) => (i >= s.start ? id : -1));
    tokens += row.length;
    ids.push([...row, ...Array(t - row.length).fill(padId)]);
    labels.push([...lab, ...Array(t - lab.length).fill(-1)]);
    attention.push([...Array(row.length).fill(1), ...Array(t - row.length).fill(0)]);
  }
  return { ids, labels, attention, tokens };
}
