import type * as tf from '@tensorflow/tfjs-core';
import { CancelledError, type Logger, type NodeContext } from '@e3/core';
import { describeCuts, textCodec, type TextCodec } from '../data/batch.js';
import type { Example } from '../data/dataset.js';
import type { BuiltStepLoss } from '../loss/loss-inputs.js';
import type { LossTerm } from '../loss/loss-term.js';
import { trainingStep, type TrainingStepSpec } from '../loss/training-step.js';
import { cloneHandle, type ModelHandle } from '../model/handle.js';
import { describeStepMemory, stepMemory, trainableVariables, type MemoryOptionParams } from './memory-options.js';

/** The params of the nodes that train a copy of their model's weights (trainer.train, distiller.train). */
export interface CopyTrainingParams extends MemoryOptionParams {
  batchSize: number;
  loss: LossTerm[];
  promptLoss: boolean;
  headChunkTokens: number;
}

/** A copy of a node's input model, set up to train: its variables and the loss of a batch. */
export interface TrainingCopy {
  readonly model: ModelHandle;
  readonly codec: TextCodec;
  /** The variables that train (what `freeze` leaves). */
  readonly vars: tf.Variable[];
  /** The training step's loss of a batch of examples. */
  readonly lossOf: (examples: readonly Example[]) => Promise<BuiltStepLoss>;
  /** When the setup began (performance.now()). */
  readonly t0: number;
}

/**
 * The setup the trainer and the distiller share: a copy of `base`, its trainable variables (frozen parts
 * logged), the step's memory options (logged when not the plain step) and the step's loss, with the
 * teacher's parts (`teacherParts`: targets cache, token weighting, teacher model) where the node has them.
 */
export function trainingCopy(
  base: ModelHandle,
  p: CopyTrainingParams,
  o: {
    ctx: NodeContext;
    plugin: string;
    log: Logger;
    teacherParts?: Pick<TrainingStepSpec, 'weighting' | 'cache' | 'teacher'>;
  },
): TrainingCopy {
  const codec = textCodec(base, o.plugin);
  const model = cloneHandle(base);
  const trainable = trainableVariables(model.model, p.freeze);
  if (trainable.frozen.length) o.log.info(`frozen (not trained): ${trainable.frozen.join(', ')}`);
  const memory = stepMemory(p, p.batchSize);
  const described = describeStepMemory(memory, p.batchSize);
  if (described) o.log.info(described);
  const t0 = performance.now();
  const lossOf = trainingStep({
    node: o.ctx.id,
    model,
    codec,
    loss: p.loss,
    ...o.teacherParts,
    promptLoss: p.promptLoss,
    trainHead: trainable.trainHead,
    headChunkTokens: p.headChunkTokens,
    ...memory,
  });
  return { model, codec, vars: trainable.vars, lossOf, t0 };
}

/**
 * After the train loop: the copy is dropped and CancelledError thrown when the run stopped (the
 * checkpoint keeps the progress); else the records cut to the context are logged. Returns the seconds
 * since the setup.
 */
export function finishTrainingCopy(c: TrainingCopy, ctx: NodeContext, log: Logger): number {
  if (ctx.signal.aborted) {
    c.model.dispose();
    throw new CancelledError();
  }
  const cuts = describeCuts(c.codec);
  if (cuts) log.info(cuts);
  return (performance.now() - c.t0) / 1000;
}
