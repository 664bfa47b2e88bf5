import type { ReportLrSchedule } from '@e3/core';
import type { StepMetrics } from './train-loop.js';

/** The parameters of warmupCosine (trainer/adamw.ts) for a run of `steps` (report.json's training.lrSchedule). */
export type LrSchedule = ReportLrSchedule;

/** The schedule of a train loop's params. */
export function lrScheduleOf(p: { steps: number; warmupSteps: number; lr: number; minLrRatio: number }): LrSchedule {
  return { steps: p.steps, warmupSteps: p.warmupSteps, peak: p.lr, minLrRatio: p.minLrRatio };
}

/** What a training node reports on its `metrics` port. */
export interface TrainMetrics {
  /** The id of the node that trained. */
  node: string;
  /** Optimiser steps taken. */
  steps: number;
  /** Tokens trained on (those with a loss). */
  tokens: number;
  /** Wall time of the training (s). */
  wallSeconds: number;
  /** The learning-rate schedule as set (warm-up, then cosine decay): warmupCosine gives every step's. */
  lrSchedule?: LrSchedule;
  /** Recorded steps (every `logEvery` and the last): total loss, lr, gradient norm, each loss term. */
  history: StepMetrics[];
}

/** A training node's metrics from its loop's result and its params (the schedule as set). */
export function trainMetricsOf(
  node: string,
  run: { steps: number; tokens: number; wallSeconds: number; history: StepMetrics[] },
  p: { steps: number; warmupSteps: number; lr: number; minLrRatio: number },
): TrainMetrics {
  const { steps, tokens, wallSeconds, history } = run;
  return { node, steps, tokens, wallSeconds, lrSchedule: lrScheduleOf(p), history };
}
