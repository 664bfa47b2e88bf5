/** Facts about the current run that nodes may need (injected as RUN_INFO). */
export interface RunInfo {
  readonly runDir: string;
  readonly graphFile: string;
  readonly seed: number;
  /** True when `--resume` continues an earlier run in the same directory. */
  readonly resume: boolean;
}
