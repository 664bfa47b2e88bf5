import { headChunkRows } from '../model/chunked-head.js';
import { blockSavedFloats, blockUpstreamFloats, F32, kvCacheFloats, type ModelShape } from './shapes.js';

/**
 * The memory of each kind of work a node does, as explicit sums (bytes). Each term says which
 * code allocates it. Tensors live in the backend's memory (the wasm32 heap on wasm, host memory
 * on cpu); `host` terms (the fused kernels' scratch, JS arrays) are host memory on every backend.
 */
export interface MemoryItem {
  readonly what: string;
  readonly bytes: number;
  readonly kind: 'weights' | 'gradients' | 'optimizer' | 'activations' | 'head' | 'cache' | 'transient';
  /** Host memory outside the tensor backend (not in the wasm heap). */
  readonly host?: boolean;
  /** The node param that scales it, named in a refusal's fix. */
  readonly param?: string;
}

/** How blocks run: one fused native kernel each (wasm, cpu with the addon) or op by op (tensorflow, webgpu). */
export interface Execution {
  readonly fused: boolean;
  /** AdamW updates weights and moments in place (native/src/adamw.ts: the cpu backend counts references). */
  readonly inPlaceUpdate?: boolean;
  /** Products from this many multiply-adds run in bf16 (PlanLimits.bf16MinWork); absent: all f32. */
  readonly bf16MinWork?: number;
}

/** A batch: B sequences of T tokens, and the node param that sets B. */
export interface BatchShape {
  readonly B: number;
  readonly T: number;
  readonly param: string;
}

/** Bytes as GiB (from 1 GiB), MiB or KiB, for people. */
const gib = (b: number) =>
  b >= 2 ** 30
    ? `${(b / 2 ** 30).toFixed(2)} GiB`
    : b >= 2 ** 20
      ? `${(b / 2 ** 20).toFixed(1)} MiB`
      : `${(b / 1024).toFixed(1)} KiB`;

/** f32 weights of a model (every checkpoint dtype is widened to f32 on load: checkpoint.ts). */
export function weights(m: ModelShape, what: string): MemoryItem {
  const bf16 = m.bf16Parameters ?? 0;
  const of = bf16 ? `, ${(bf16 / 1e6).toFixed(1)}M of them bf16` : '';
  return {
    what: `${what} (${(m.parameters / 1e6).toFixed(1)}M params f32${of})`,
    bytes: F32 * m.parameters - 2 * bf16,
    kind: 'weights',
  };
}

/**
 * bf16 copies of a model's f32 projection and head weights (native/src/bf16-copies.ts: made on first use,
 * host memory, kept while the weights live) when its blocks' products run in bf16 at this batch:
 * 2 bytes a value beside the f32 master's 4. None for weights kept in bf16 (frozenDtype: bfloat16).
 */
export function bf16Copies(m: ModelShape, b: BatchShape, x: Execution): MemoryItem[] {
  const c = m.config;
  const q = c.numHeads * c.headDim;
  const work = b.B * b.T * c.hiddenSize * Math.max(c.intermediateSize, q);
  if (!x.fused || x.bf16MinWork === undefined || work < x.bf16MinWork) return [];
  const kv = c.numKvHeads * c.headDim;
  const projections = c.numLayers * c.hiddenSize * (2 * q + 2 * kv + 3 * c.intermediateSize);
  // The output head [V, d] too: its chunks' products read it again and again (native/src/matmul.ts).
  const head = c.vocabSize * c.hiddenSize;
  const f32 = projections + head - (m.bf16Parameters ?? 0);
  if (f32 <= 0) return [];
  const what = 'bf16 copies of the f32 projection and head weights (bf16 products)';
  return [{ what, bytes: 2 * f32, kind: 'weights', host: true }];
}

/**
 * A forward pass without gradients over one batch (decoder.ts forwardFinal, inside one tf.tidy):
 * every block's output [N, d] stays until the tidy ends, plus the embedding rows, the rotary
 * tables [N, hd] ×2 and the mask. Fused blocks add one block's scratch at a time (`Saved::size`
 * + N·(Q+K), host memory); op by op, every block's intermediates stay: taken as its workspace
 * plus the B·H·T² attention scores (an estimate, not counted op by op).
 */
export function forwardPass(m: ModelShape, b: BatchShape, x: Execution, what = 'forward activations'): MemoryItem[] {
  const c = m.config;
  const N = b.B * b.T;
  const L = c.numLayers;
  const tensors = (L + 1) * N * c.hiddenSize + 2 * N * c.headDim + b.B * b.T;
  const q = c.numHeads * c.headDim;
  const kv = c.numKvHeads * c.headDim;
  const label = `${what}, ${b.B}×${b.T} tokens`;
  if (x.fused) {
    return [
      ...bf16Copies(m, b, x),
      { what: label, bytes: F32 * tensors, kind: 'activations', param: b.param },
      {
        what: `${label}: fused block scratch`,
        bytes: F32 * (blockSavedFloats(c, b.B, b.T) + N * (q + kv)),
        kind: 'activations',
        host: true,
        param: b.param,
      },
    ];
  }
  const perBlock = blockSavedFloats(c, b.B, b.T) + b.B * c.numHeads * b.T * b.T;
  return [{ what: `${label} (op by op)`, bytes: F32 * (tensors + L * perBlock), kind: 'activations', param: b.param }];
}

/**
 * A forward and backward pass with gradients (the tape): each block keeps its input [N, d] and
 * its workspace (`Saved::size`, decoder-block.ts), and the backward pass holds one block's
 * `Upstream::size` and dx, dy [N, d] at a time. Op by op: twice the fused workspace plus the
 * attention scores per block (an estimate).
 */
export function trainingPass(m: ModelShape, b: BatchShape, x: Execution, recompute = false): MemoryItem[] {
  const c = m.config;
  const N = b.B * b.T;
  const L = c.numLayers;
  const saved = blockSavedFloats(c, b.B, b.T);
  // Checkpointed (fused blocks only): a block keeps its input; its workspace exists in its backward pass only.
  const checkpointed = recompute && x.fused;
  const perBlock = checkpointed
    ? N * c.hiddenSize
    : x.fused
      ? saved + N * c.hiddenSize
      : 2 * saved + b.B * c.numHeads * b.T * b.T + N * c.hiddenSize;
  const backward = blockUpstreamFloats(c, b.B, b.T) + 2 * N * c.hiddenSize + (checkpointed ? saved : 0);
  const how = checkpointed ? ' (checkpointed: inputs only)' : x.fused ? '' : ' (op by op)';
  return [
    {
      what: `activations kept for backward, ${L} blocks × ${b.B}×${b.T} tokens${how}`,
      bytes: F32 * L * perBlock,
      kind: 'activations',
      param: b.param,
    },
    {
      what: `backward pass of one block (upstream, dx, dy${checkpointed ? ', its recomputed workspace' : ''})`,
      bytes: F32 * backward,
      kind: 'activations',
      param: b.param,
    },
  ];
}

/**
 * The chunked output head (chunked-head.ts, student-tokens.ts): `live` tensors of one chunk
 * [rows, V] exist at once (logits, log-softmax, exp, products: counted per pass in the code),
 * rows = headChunkTokens or 160 MiB of logits, at most the batch's tokens.
 */
export function headChunk(m: ModelShape, tokens: number, chunkTokens: number, live: number, what: string): MemoryItem {
  const V = m.config.vocabSize;
  const rows = Math.min(tokens, headChunkRows(V, chunkTokens));
  return {
    what: `output head: ${live} × [${rows}, ${V}] per chunk (${what})`,
    bytes: F32 * live * rows * V,
    kind: 'head',
    param: 'headChunkTokens',
  };
}

/**
 * Training state of the weights that train (train-loop.ts, adamw.ts): gradients (one per weight,
 * tf.variableGrads; clipping scales them inside the AdamW update, without copies), AdamW's m and
 * v (f32, one each per weight), and one update's new weight, m and v of the largest tensor (none
 * when the update runs in place).
 */
export function optimizer(m: ModelShape, frozen: readonly string[] = [], inPlaceUpdate = false): MemoryItem[] {
  const P = m.parameters - frozenParameters(m, frozen);
  const note = frozen.length ? `, ${frozen.join(' and ')} frozen` : '';
  return [
    { what: `gradients${note}`, bytes: F32 * P, kind: 'gradients' },
    { what: `AdamW m and v (f32)${note}`, bytes: 2 * F32 * P, kind: 'optimizer' },
    inPlaceUpdate
      ? { what: 'AdamW update (in place)', bytes: 0, kind: 'transient' }
      : {
          what: 'AdamW update of the largest tensor (new w, m, v)',
          bytes: 3 * F32 * m.largestTensor,
          kind: 'transient',
        },
  ];
}

/**
 * Parameters that `freeze` (trainer/memory-options.ts) leaves out of training: the embedding
 * [V, d] for "embeddings", lm_head (the same tensor when tied) for "head".
 */
export function frozenParameters(m: ModelShape, frozen: readonly string[]): number {
  const c = m.config;
  const table = c.vocabSize * c.hiddenSize;
  const embeddings = frozen.includes('embeddings');
  const head = frozen.includes('head');
  if (c.tieWordEmbeddings) return embeddings || head ? table : 0;
  return (embeddings ? table : 0) + (head ? table : 0);
}

/** Final-norm rows [N, d] kept for every calibration batch (mask-evaluator.ts: teacherFinal) and the batch ids. */
export function calibrationStore(m: ModelShape, examples: number, T: number): MemoryItem {
  const N = examples * T;
  return {
    what: `calibration store: teacher rows ${examples}×${T} tokens`,
    bytes: F32 * (N * m.config.hiddenSize + 4 * N),
    kind: 'cache',
    param: 'calibration',
  };
}

/** Hidden states of every block for every calibration batch, as JS arrays (mask-evaluator.ts hiddenStates). */
export function hiddenStates(m: ModelShape, examples: number, T: number): MemoryItem {
  const N = examples * T;
  return {
    what: `hidden states of ${m.config.numLayers + 1} blocks × ${examples}×${T} tokens`,
    bytes: F32 * (m.config.numLayers + 1) * N * m.config.hiddenSize,
    kind: 'cache',
    host: true,
    param: 'calibration',
  };
}

/** Per-token teacher targets of a batch: top-k ids and log-probs, entropy (topk-cache.ts). */
export function targets(tokens: number, k: number): MemoryItem {
  return { what: `teacher targets, ${tokens} tokens × k=${k}`, bytes: tokens * (8 * k + 4) * 2, kind: 'transient' };
}

/** A KV cache for generation over B prompts of S positions (generate.ts). */
export function kvCache(m: ModelShape, B: number, S: number, param: string): MemoryItem {
  return {
    what: `KV cache, ${B} sequences × ${S} positions`,
    bytes: F32 * kvCacheFloats(m.config, m.config.numLayers, B, S),
    kind: 'activations',
    param,
  };
}

/**
 * One tensor at a time on the host (the largest): `bytesPerElement` of it, e.g. 2 for a bf16
 * read while loading, 4 for an f32 read-back (fingerprint), 4 + 2 for an export's read-back and
 * its bf16 encoding.
 */
export function perTensor(m: ModelShape, bytesPerElement: number, what: string): MemoryItem {
  return { what, bytes: bytesPerElement * m.largestTensor, kind: 'transient', host: true };
}

/** Sum of bytes. */
export function total(items: readonly MemoryItem[], filter: (i: MemoryItem) => boolean = () => true): number {
  return items.filter(filter).reduce((a, i) => a + i.bytes, 0);
}

export { gib };

/** How a training step runs (node params): what is frozen, checkpointing, the head's chunks. */
export interface StepOptions {
  readonly frozen: readonly string[];
  readonly recompute: boolean;
  readonly chunkTokens: number;
  /** Live [rows, V] tensors per head chunk (node-memory.ts HEAD_LIVE.studentTrain). */
  readonly headLive: number;
  /** The batch runs in micro-batches (the BatchShape is one of them): their gradients are summed. */
  readonly accumulate?: boolean;
}

/**
 * One training step of all trainable weights: the optimizer state, then the larger of the step's
 * two peaks. As the backward pass starts, every block's kept activations and the head's chunks
 * are live, and of the gradients only the head's; as it ends, every gradient is, and of the
 * activations one block's backward pass (each block's workspace is freed once its gradient ran:
 * native/src/decoder-block.ts), then the optimizer's update. With micro-batches (`accumulate`,
 * train-loop.ts stepGradients) the sum of the earlier micro-batches' gradients is live in both
 * phases, and adding a micro-batch's gradients into it makes one tensor at a time.
 */
export function trainingStepMemory(m: ModelShape, b: BatchShape, x: Execution, o: StepOptions): MemoryItem[] {
  const [grads, moments, update] = optimizer(m, o.frozen, x.inPlaceUpdate);
  const [kept, oneBlock] = trainingPass(m, b, x, o.recompute);
  const head = headChunk(m, b.B * b.T, o.chunkTokens, o.headLive, 'student loss, trained head');
  const c = m.config;
  const headFrozen = o.frozen.includes('head') || (c.tieWordEmbeddings && o.frozen.includes('embeddings'));
  const headGrad: MemoryItem[] = headFrozen
    ? []
    : [
        {
          what: "the head's gradient (the first one made)",
          bytes: F32 * c.vocabSize * c.hiddenSize,
          kind: 'gradients',
        },
      ];
  const sum: MemoryItem[] = o.accumulate
    ? [{ what: 'gradient sum of the earlier micro-batches', bytes: grads.bytes, kind: 'gradients' }]
    : [];
  const add: MemoryItem = {
    what: 'one sum of gradients (largest tensor)',
    bytes: F32 * m.largestTensor,
    kind: 'transient',
  };
  const last = [oneBlock, update, ...(o.accumulate ? [add] : [])].reduce((a, b) => (b.bytes > a.bytes ? b : a));
  const start = [kept, oneBlock, head, ...headGrad, ...sum];
  const end = [grads, ...sum, last];
  return [moments, ...bf16Copies(m, b, x), ...(total(start) >= total(end) ? start : end)];
}
