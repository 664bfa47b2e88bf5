export { loadAddon, ADDON_PATH, type BlockDims, type HeadRowsAddon, type NativeAddon } from './addon.js';
export { ADAMW_KERNEL, type AdamWAttrs } from './adamw.js';
export {
  BLOCK_WEIGHTS,
  runDecoderBlock,
  tapeIsRecording,
  decoderBlockKernelsOn,
  type BlockWeightName,
  type DecoderBlockCall,
} from './decoder-block.js';
export {
  enableNativeKernels,
  activeAddon,
  fusedAdamW,
  fusedBlockAddon,
  nativeHeadRows,
  type NativeSetup,
} from './enable.js';
export {
  hostHeap,
  bufferPoolStats,
  setBufferPool,
  views,
  shareInput,
  isHostBackend,
  HOST_BACKENDS,
  WASM_HEAP_BYTES,
  type HostHeap,
  type KernelArgs,
} from './host-heap.js';
export {
  DEFAULT_NATIVE_OPTIONS,
  NATIVE_ENV_OVERRIDES,
  PRECISIONS,
  resolveNativeOptions,
  type NativeOptions,
  type Precision,
} from './options.js';
export { replaceKernel, isReplacedKernel, addKernel } from './replace-kernel.js';
export { headKl, headPick, headPickGrad, headTopK } from './head-rows.js';
export { matMulAccumulate } from './matmul.js';
export { markGradientAccumulator, takeGradientAccumulator, recordWrittenRows, writtenRowsOf } from './gradient-sum.js';
export { BufferPool, type BufferPoolStats } from './buffer-pool.js';
export { choosePrecision, activePrecision, productInBf16, type PrecisionChoice } from './precision.js';
export { forgetBf16Copy } from './bf16-copies.js';
export { isPackedBf16, markPackedBf16, type PackedBf16 } from './packed-bf16.js';
