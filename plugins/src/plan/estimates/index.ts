import type { PluginManifest } from '@e3/core';
import { noMemory } from '../node-memory.js';
import { noWork } from '../work.js';
import { exhaustiveMemory, exhaustiveWork, importanceMemory, importanceWork } from './calibration.js';
import { evaluatorMemory, evaluatorWork } from './evaluator.js';
import { exporterMemory, exporterWork } from './exporter.js';
import { initMemory, loadMemory, loadWork, pruneMemory, pruneWork } from './model.js';
import { searchBatch, searchMemory, searchWork } from './search.js';
import { topkCacheMemory, topkCacheWork } from './topk-cache.js';
import { distillerMemory, trainerMemory, trainingBatch, trainingWork } from './training.js';

/**
 * The estimates of the built-in plugins, attached to their manifests where the package is wired
 * (modules.ts). They live here rather than in each plugin's folder because the plan reads those
 * folders (configs, checkpoints, keep counts) and the folders must not import the plan back (no
 * folder cycles, test/structure). A plugin from outside declares `estimate` in its own manifest.
 */
export const BUILTIN_ESTIMATES: Record<string, PluginManifest['estimate']> = {
  'data.arithmetic': { time: noWork, memory: noMemory },
  'data.brown': { time: noWork, memory: noMemory },
  'data.jsonl': { time: noWork, memory: noMemory },
  'data.mix': { time: noWork, memory: noMemory },
  'distiller.train': { time: trainingWork, memory: distillerMemory, batch: trainingBatch },
  'evaluator.suite': { time: evaluatorWork, memory: evaluatorMemory },
  'exporter.hf': { time: exporterWork, memory: exporterMemory },
  'exporter.gguf': { time: exporterWork, memory: exporterMemory },
  'masker.exhaustive': { time: exhaustiveWork, memory: exhaustiveMemory },
  'masker.fixed': { time: noWork, memory: noMemory },
  'masker.importance': { time: importanceWork, memory: importanceMemory },
  'masker.search': { time: searchWork, memory: searchMemory, batch: searchBatch },
  'model.hfCheckpoint': { time: loadWork, memory: loadMemory },
  'model.init': { time: loadWork, memory: initMemory },
  'model.prune': { time: pruneWork, memory: pruneMemory },
  'teacher.topkCache': { time: topkCacheWork, memory: topkCacheMemory },
  'trainer.train': { time: trainingWork, memory: trainerMemory, batch: trainingBatch },
};
