import { inject, injectable } from 'inversify';
import type { NodeContext } from '@e3/core';
import {
  ARTIFACTS,
  LOGGER,
  PROGRESS,
  RNG,
  RUN_INFO,
  type ArtifactStore,
  type Logger,
  type Progress,
  type Rng,
  type RunInfo,
} from '@e3/core';

/**
 * The run services every training node needs (trainer, distiller, mask search), injected as
 * one: resolved in the node's own container, so `rng` is the node's forked stream.
 */
@injectable()
export class TrainingServices {
  constructor(
    @inject(LOGGER) readonly log: Logger,
    @inject(PROGRESS) readonly progress: Progress,
    @inject(ARTIFACTS) readonly store: ArtifactStore,
    @inject(RUN_INFO) readonly run: RunInfo,
    @inject(RNG) readonly rng: Rng,
  ) {}

  /**
   * The train loop's run arguments for node `ctx`: resume flag, RNG, logger, progress, cancellation,
   * and checkpoints in the node's own directory unless `at` names another (with its RNG and task name).
   */
  loopArgs(ctx: NodeContext, at: { checkpointDir?: string; rng?: Rng; task?: string } = {}) {
    return {
      resume: this.run.resume,
      rng: at.rng ?? this.rng,
      checkpointDir: at.checkpointDir ?? this.store.checkpointDir(ctx.id),
      logger: this.log,
      progress: this.progress,
      task: at.task ?? ctx.id,
      signal: ctx.signal,
    };
  }
}
