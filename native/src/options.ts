/** How the native kernels are used: the graph's `backend:` options, with E3_* variables as overrides. */
export interface NativeOptions {
  /** Use the addon at all (BatchMatMul on OpenBLAS, AdamW); E3_NATIVE_BLAS=0 overrides. */
  native: boolean;
  /** Each decoder block as one fused kernel; E3_FUSED=0 overrides. */
  fused: boolean;
  /** Threads of the fused kernels, 1 or 2; E3_THREADS overrides. */
  threads: number;
  /**
   * Reuse of disposed cpu outputs by the next output of the same size (native/src/buffer-pool.ts):
   * the MiB that kept buffers may add past the run's busiest moment so far (0: none past it), or
   * false for no reuse; E3_BUFFER_POOL overrides (a number, or "off").
   */
  bufferPool: number | false;
  /**
   * Precision of the matrix products (native/src/precision.ts): bf16 (bf16 inputs, f32 accumulation
   * on oneDNN), f32 (OpenBLAS), or auto (bf16 for large products where the CPU has AMX or
   * avx512_bf16 and oneDNN is built in, else f32); E3_PRECISION overrides.
   */
  precision: Precision;
}

export const PRECISIONS = ['auto', 'bf16', 'f32'] as const;
export type Precision = (typeof PRECISIONS)[number];

export const DEFAULT_NATIVE_OPTIONS: NativeOptions = {
  native: true,
  fused: true,
  threads: 2,
  bufferPool: 1024,
  precision: 'auto',
};

/** The environment variables that override the graph's options, and which option each sets. */
export const NATIVE_ENV_OVERRIDES = {
  E3_NATIVE_BLAS: 'native',
  E3_FUSED: 'fused',
  E3_THREADS: 'threads',
  E3_BUFFER_POOL: 'bufferPool',
  E3_PRECISION: 'precision',
} as const;

/**
 * The options in force: the graph's, then each E3_* variable that is set. Returns the options and
 * the overrides that applied (for the run log), e.g. ["E3_FUSED=0 sets fused: false"].
 */
export function resolveNativeOptions(
  fromGraph: Partial<NativeOptions>,
  env: NodeJS.ProcessEnv = process.env,
): { options: NativeOptions; overrides: string[] } {
  const options = { ...DEFAULT_NATIVE_OPTIONS, ...fromGraph };
  const overrides: string[] = [];
  for (const [name, key] of Object.entries(NATIVE_ENV_OVERRIDES)) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    if (key === 'threads') options.threads = Number(raw) === 1 ? 1 : 2;
    else if (key === 'bufferPool') options.bufferPool = raw === 'off' ? false : Math.max(0, Number(raw) || 0);
    else if (key === 'precision') {
      if (!(PRECISIONS as readonly string[]).includes(raw))
        throw new RangeError(`E3_PRECISION=${raw}: expected one of ${PRECISIONS.join(', ')}`);
      options.precision = raw as Precision;
    } else options[key] = raw !== '0';
    overrides.push(`${name}=${raw} sets ${key}: ${options[key]}`);
  }
  options.threads = options.threads === 1 ? 1 : 2;
  return { options, overrides };
}
