import { manifestModule, type ComponentManifest, type PluginManifest } from '@e3/core';
import { ContainerModule } from 'inversify';
import { arithmeticManifest } from './data/arithmetic-node.js';
import { exporterManifest } from './exporter/exporter-node.js';
import { crossEntropyManifest } from './loss/cross-entropy.js';
import { hfCheckpointManifest } from './model/hf-checkpoint-node.js';
import { initModelManifest } from './model/init-node.js';
import { pruneManifest } from './model/prune-node.js';
import { trainerManifest } from './trainer/trainer-node.js';

/** Every built-in node plugin. */
export const builtinPlugins: PluginManifest[] = [hfCheckpointManifest, initModelManifest, pruneManifest, arithmeticManifest, trainerManifest, exporterManifest];

/** Every built-in component. */
export const builtinComponents: ComponentManifest[] = [crossEntropyManifest];

/** The ContainerModules the CLI loads by default. */
export const builtinModules: ContainerModule[] = [manifestModule(builtinPlugins, builtinComponents)];
