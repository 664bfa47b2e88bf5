import { UserError } from '@e3/core';
import type { Dataset } from '../data/dataset.js';
import type { ModelHandle } from '../model/handle.js';
import { teacherKey, type CoverageMeter, type TeacherCache } from '../teacher/topk-cache.js';

/** Tokens compared one by one between two tokenizers (all of them up to this size). */
const TOKENS_COMPARED = 262_144;

/**
 * The first token id that two tokenizers decode differently, or their sizes when those differ; undefined
 * when they agree on every id (up to {@link TOKENS_COMPARED}).
 */
export function vocabularyDifference(a: ModelHandle, b: ModelHandle): string | undefined {
  if (a.model.config.vocabSize !== b.model.config.vocabSize)
    return `vocab_size ${a.model.config.vocabSize} against ${b.model.config.vocabSize}`;
  const [ta, tb] = [a.tokenizer, b.tokenizer];
  if (ta === tb) return undefined; // one tokenizer object (a student pruned from this teacher)
  if (!ta || !tb) return `a tokenizer.json on one side only`;
  if (ta.size !== tb.size) return `tokenizers of ${ta.size} against ${tb.size} tokens`;
  for (let id = 0; id < Math.min(ta.size, TOKENS_COMPARED); id++) {
    const [x, y] = [ta.decode([id]), tb.decode([id])];
    if (x !== y) return `token id ${id} is ${JSON.stringify(x)} against ${JSON.stringify(y)}`;
  }
  return undefined;
}

/**
 * Checks, before the first step, that a teacher cache fits a distillation: the student's vocabulary is
 * the teacher's (KL over token ids compares nothing otherwise), the cache was built for this data (the
 * cache is keyed by the data's fingerprint, and would store targets of other data under it), and, when
 * the node also has a teacher model wired, that it is the cache's teacher. Throws a UserError naming
 * the node, its input ports and a fix.
 */
export async function checkDistillationInputs(
  node: string,
  student: ModelHandle,
  cache: TeacherCache,
  data: Dataset,
  teacher?: ModelHandle,
): Promise<void> {
  const vocab = vocabularyDifference(student, cache.teacher);
  if (vocab)
    throw new UserError(
      `node "${node}": the student (input "model") and the teacher of the cache (input "targets") have ` +
        `different vocabularies: ${vocab} (fix: distil a student pruned from the teacher that built the cache)`,
    );
  if (cache.dataFingerprint !== data.fingerprint)
    throw new UserError(
      `node "${node}": the teacher cache (input "targets") was built for other data (fingerprint ` +
        `${cache.dataFingerprint}) than input "data" (${data.fingerprint}) ` +
        '(fix: wire the cache node and this node to the same data node)',
    );
  if (teacher && teacher !== cache.teacher && (await teacherKey(teacher)) !== cache.teacherKey)
    throw new UserError(
      `node "${node}": input "teacher" is not the model that built the teacher cache (input "targets"): ` +
        'their weights, config or tokenizer differ (fix: wire both to the same teacher node)',
    );
}

/** What a run reports of the stored top-k: the mean and lowest share of probability it covers. */
export interface TopkCoverage {
  readonly k: number;
  /** Labelled positions measured (the tokens the loss used). */
  readonly tokens: number;
  readonly mean: number;
  readonly min: number;
}

/** The summary of a closed meter (undefined when it saw no labelled position). */
export function coverageOf(meter: CoverageMeter, k: number): TopkCoverage | undefined {
  return meter.tokens ? { k, tokens: meter.tokens, mean: meter.sum / meter.tokens, min: meter.min } : undefined;
}

/** One log line. */
export function describeCoverage(c: TopkCoverage): string {
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  return (
    `teacher top-${c.k} covers ${pct(c.mean)} of the teacher's probability on average (lowest ${pct(c.min)}) ` +
    `over the ${c.tokens} distilled tokens; the rest bucket holds the remainder`
  );
}
