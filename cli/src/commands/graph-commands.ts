import type { Command } from 'commander';
import { Container, type ContainerModule } from 'inversify';
import { resolve } from 'node:path';
import {
  GraphError,
  loadPluginModule,
  plannedPreflights,
  prepareGraph,
  refuseOnProblems,
  Registry,
  UserError,
  warningLines,
  writeFileAtomic,
} from '@e3/core';
import { diagramSvg, specDiagram } from '@e3/plots';
import { isSweepFile } from '../sweep/sweep-file.js';
import { describeJson, describeMermaid, describeRegistry, describeText } from './describe.js';
import { collect } from './options.js';
import { writeSchemas } from './schemas.js';
import { planSweep, validateSweep } from './sweep-validate.js';

type Modules = readonly ContainerModule[];

/** `--set` and `--plugin`, which every command that reads a graph takes. */
function graphCommand(program: Command, name: string, setDoc = 'override a value (repeatable)'): Command {
  return program
    .command(name)
    .option('--set <path=value>', setDoc, collect, [])
    .option('--plugin <module>', 'load extra plugins from a module (repeatable)', collect, []);
}

/** `e3 validate`, `e3 plan`, `e3 describe`, `e3 plugins` and `e3 schemas`. */
export function addGraphCommands(program: Command, modules: Modules): void {
  addValidateCommand(program, modules);
  addPlanCommand(program, modules);
  addDescribeCommand(program, modules);
  addRegistryCommands(program, modules);
}

function addValidateCommand(program: Command, modules: Modules): void {
  graphCommand(program, 'validate')
    .description('check a graph (or every point of a sweep file) without running it; every problem at file:line:col')
    .argument('<graph>', 'graph YAML file, or sweep file (kind: Sweep)')
    .option('--json', 'machine-readable output: {"ok", "nodes"} or {"ok": false, "problems": [...]} (exit 1)')
    .action(async (graph: string, o) => {
      if (isSweepFile(graph)) return validateSweep(graph, modules, o);
      let p;
      let warnings: string[] = [];
      try {
        p = await prepareGraph(graph, { modules, sets: o.set, pluginPaths: o.plugin });
        const reports = await plannedPreflights(p);
        warnings = warningLines(reports);
        refuseOnProblems(reports);
      } catch (e) {
        if (!o.json || !(e instanceof GraphError)) throw e;
        process.stdout.write(JSON.stringify({ file: graph, ok: false, problems: e.diagnostics }, null, 2) + '\n');
        process.exitCode = e.exitCode;
        return;
      }
      for (const w of warnings) process.stderr.write(w + '\n');
      process.stdout.write(
        o.json
          ? JSON.stringify({ file: graph, ok: true, nodes: p.graph.order, warnings }, null, 2) + '\n'
          : `${graph}: ok (${p.graph.order.length} nodes: ${p.graph.order.join(' → ')})\n`,
      );
    });
}

function addPlanCommand(program: Command, modules: Modules): void {
  graphCommand(program, 'plan')
    .description(
      "print the pre-flight reports of a graph (the memory plan: each node's peak against the backend's limit)" +
        ', or of every distinct graph of a sweep file',
    )
    .argument('<graph>', 'graph YAML file, or sweep file (kind: Sweep)')
    .option('--json', 'machine-readable output')
    .action(async (graph: string, o) => {
      if (isSweepFile(graph)) return planSweep(graph, modules, o);
      const reports = await plannedPreflights(
        await prepareGraph(graph, { modules, sets: o.set, pluginPaths: o.plugin }),
        'plan',
      );
      if (o.json)
        process.stdout.write(JSON.stringify(Object.fromEntries(reports.map((r) => [r.title, r.json])), null, 2) + '\n');
      else process.stdout.write(reports.map((r) => `${r.title}\n${r.text}`).join('\n\n') + '\n');
      for (const w of warningLines(reports)) process.stderr.write(w + '\n');
      const problems = reports.flatMap((r) => r.problems);
      // The reports say that something does not fit; the located problems say what and how to fix it.
      if (problems.length && !o.json) throw new GraphError(problems);
      if (problems.length) process.exitCode = 1;
    });
}

function addDescribeCommand(program: Command, modules: Modules): void {
  graphCommand(program, 'describe')
    .description('print the resolved graph as text and as a Mermaid flowchart')
    .argument('<graph>', 'graph YAML file')
    .option('--json', 'machine-readable output: nodes in execution order with plugin, wires, ports and params')
    .option('--svg <file>', 'also draw the graph as an SVG diagram into this file')
    .action(async (graph: string, o) => {
      const p = await prepareGraph(graph, { modules, sets: o.set, pluginPaths: o.plugin });
      if (o.svg) writeFileAtomic(resolve(o.svg), diagramSvg(specDiagram(p.graph.spec)));
      process.stdout.write(
        o.json
          ? JSON.stringify(describeJson(p.graph, p.registry), null, 2) + '\n'
          : `${describeText(p.graph, p.registry)}\n\n\`\`\`mermaid\n${describeMermaid(p.graph)}\n\`\`\`\n`,
      );
    });
}

/** The registry of the built-in modules (and `--plugin` modules). */
async function registryOf(modules: Modules, pluginPaths: readonly string[] = []): Promise<Registry> {
  const container = new Container({ autobind: true });
  container.load(...modules);
  for (const p of pluginPaths) container.load(...(await loadPluginModule(p)));
  return new Registry(container);
}

function addRegistryCommands(program: Command, modules: Modules): void {
  program
    .command('plugins')
    .description('list registered plugins and components with their ports and params')
    .option('--plugin <module>', 'also load plugins from a module (repeatable)', collect, [])
    .option('--json', 'machine-readable output')
    .action(async (o) => {
      const registry = await registryOf(modules, o.plugin);
      if (o.json) {
        const plugins = [...registry.plugins.values()].map(({ node: _n, ...m }) => m);
        const components = [...registry.components.values()].map(({ component: _c, ...m }) => m);
        process.stdout.write(JSON.stringify({ plugins, components }, null, 2) + '\n');
      } else process.stdout.write(describeRegistry(registry) + '\n');
    });

  program
    .command('schemas')
    .description("write each plugin's and component's params JSON Schema (schemas/plugins, schemas/components)")
    .option('--out <dir>', 'output directory', 'schemas')
    .option('--check', 'exit 1 if the files on disk differ from the registry (for CI)')
    .action(async (o) => {
      const stale = writeSchemas(await registryOf(modules), o.out, Boolean(o.check));
      if (o.check && stale.length) throw new UserError(`schemas out of date: ${stale.join(', ')}; run e3 schemas`);
      process.stdout.write(o.check ? 'schemas up to date\n' : `wrote schemas to ${o.out}\n`);
    });
}
