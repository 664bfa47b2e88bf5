import { inject, injectable } from 'inversify';
import { ARTIFACTS, LOGGER, PROGRESS, RNG, RUN_INFO, type ArtifactStore, type Logger, type Progress, type Rng, type RunInfo } from '@e3/core';

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
}
