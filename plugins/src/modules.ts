import { manifestModule, preflightModule, type ComponentManifest, type PluginManifest } from '@e3/core';
import { ContainerModule } from 'inversify';
import { arithmeticManifest } from './data/arithmetic-node.js';
import { jsonlManifest } from './data/jsonl-node.js';
import { brownManifest } from './data/brown-node.js';
import { mixManifest } from './data/mix-node.js';
import { distillerManifest } from './distiller/distiller-node.js';
import { evaluatorManifest } from './evaluator/evaluator-node.js';
import { exporterManifest } from './exporter/exporter-node.js';
import { ggufExporterManifest } from './exporter-gguf/gguf-exporter-node.js';
import { hiddenMseManifest } from './loss/hidden-mse.js';
import { angularManifest } from './importance/angular.js';
import { blockInfluenceManifest } from './importance/block-influence.js';
import { klDropManifest } from './importance/kl-drop.js';
import { lastNManifest, randomManifest, zerosManifest } from './importance/simple.js';
import { slebManifest } from './importance/sleb.js';
import { crossEntropyManifest } from './loss/cross-entropy.js';
import { aklManifest, forwardKlManifest, reverseKlManifest } from './loss/kl-terms.js';
import { exhaustiveMaskerManifest } from './masker/exhaustive-node.js';
import { fixedMaskerManifest } from './masker/fixed-node.js';
import { importanceMaskerManifest } from './masker/importance-node.js';
import { searchManifest } from './masker/search-node.js';
import { hfCheckpointManifest } from './model/hf-checkpoint-node.js';
import { initModelManifest } from './model/init-node.js';
import { pruneManifest } from './model/prune-node.js';
import { linearPatchManifest } from './patch/linear-patch-node.js';
import { memoryPlanPreflight } from './plan/plan-preflight.js';
import { inputsPreflight } from './plan/inputs-preflight.js';
import { timePlanPreflight } from './plan/time-plan.js';
import { recipePreflight } from './recipe/recipe-warnings.js';
import { BUILTIN_ESTIMATES } from './plan/estimates/index.js';
import { deterministicTopkManifest } from './sampler/deterministic-topk.js';
import { gumbelTopkManifest } from './sampler/gumbel-topk.js';
import { softmaxStManifest } from './sampler/softmax-st.js';
import { topkCacheManifest } from './teacher/topk-cache-node.js';
import { trainerManifest } from './trainer/trainer-node.js';
import { teacherEntropyWeightingManifest, uniformWeightingManifest } from './weighting/weighting.js';

/** Every built-in node plugin. */
export const builtinPlugins: PluginManifest[] = withEstimates([
  hfCheckpointManifest,
  initModelManifest,
  pruneManifest,
  arithmeticManifest,
  jsonlManifest,
  brownManifest,
  mixManifest,
  trainerManifest,
  topkCacheManifest,
  searchManifest,
  importanceMaskerManifest,
  exhaustiveMaskerManifest,
  fixedMaskerManifest,
  distillerManifest,
  evaluatorManifest,
  exporterManifest,
  ggufExporterManifest,
  linearPatchManifest,
]);

/** Every built-in component. */
export const builtinComponents: ComponentManifest[] = [
  crossEntropyManifest,
  forwardKlManifest,
  reverseKlManifest,
  aklManifest,
  hiddenMseManifest,
  uniformWeightingManifest,
  teacherEntropyWeightingManifest,
  gumbelTopkManifest,
  deterministicTopkManifest,
  softmaxStManifest,
  blockInfluenceManifest,
  angularManifest,
  klDropManifest,
  slebManifest,
  lastNManifest,
  randomManifest,
  zerosManifest,
];

/** The ContainerModules the CLI loads by default. */
export const builtinModules: ContainerModule[] = [
  manifestModule(builtinPlugins, builtinComponents),
  preflightModule(inputsPreflight, memoryPlanPreflight, timePlanPreflight, recipePreflight),
];

/** The built-in manifests with their estimates (plan/estimates/index.ts). */
function withEstimates(manifests: PluginManifest[]): PluginManifest[] {
  return manifests.map((m) => (BUILTIN_ESTIMATES[m.key] ? { ...m, estimate: BUILTIN_ESTIMATES[m.key] } : m));
}
