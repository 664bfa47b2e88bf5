/** Facts about the current run that nodes may need (injected as RUN_INFO). */
export interface RunInfo {
  /** The run directory (absolute): run.log, report files, checkpoints and ARTIFACTS live here. */
  readonly runDir: string;
  /** The graph file the run was started from (absolute). */
  readonly graphFile: string;
  /** The run's seed (`seed:` of the graph or `--seed`); the RNG service is seeded with it. */
  readonly seed: number;
  /** True when `--resume` continues an earlier run in the same directory. */
  readonly resume: boolean;
}
