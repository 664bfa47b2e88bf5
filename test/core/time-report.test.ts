import { strict as assert } from 'node:assert';
import { timeTable, type NodeTiming, type PreflightReport, type ValidatedGraph } from '@e3/core';

/** The parts of a validated graph the time report reads: the order and each node's input wires. */
function graphOf(nodes: Record<string, Record<string, string>>): ValidatedGraph {
  const spec = { nodes: Object.fromEntries(Object.entries(nodes).map(([id, inputs]) => [id, { in: inputs }])) };
  return { order: Object.keys(nodes), spec } as unknown as ValidatedGraph;
}

/** A time plan's report: only its seconds per node matter here. */
const plan = (seconds: Record<string, number>): PreflightReport => ({
  title: 'time plan',
  text: '',
  json: {},
  problems: [],
  seconds,
});

const done = (ms: Record<string, number>): Record<string, NodeTiming> =>
  Object.fromEntries(Object.entries(ms).map(([id, completedMs]) => [id, { completedMs, values: 1 }]));

describe('time report', () => {
  // data and teacher load at once (no inputs); search needs both; eval needs search.
  const graph = graphOf({
    data: {},
    teacher: {},
    search: { data: 'data.out', model: 'teacher.model' },
    eval: { model: 'search.out' },
  });
  const seconds = { data: 1, teacher: 6, search: 20, eval: 5 };

  it('times a node from its last input to its completion, and sources loading at once as one span', () => {
    const rows = timeTable(graph, [plan(seconds)], done({ data: 9000, teacher: 10000, search: 30000, eval: 34000 }));
    assert.deepEqual(rows, [
      // 0–10 s for both sources, against 1 + 6 s estimated
      { nodes: ['data', 'teacher'], estimated: 7, measured: 10 },
      { nodes: ['search'], estimated: 20, measured: 20 },
      { nodes: ['eval'], estimated: 5, measured: 4 },
    ]);
  });

  it('leaves a node served from the cache (no time) on its own row', () => {
    const rows = timeTable(graph, [plan(seconds)], done({ data: 0, teacher: 10000, search: 30000, eval: 30000 }));
    assert.deepEqual(
      rows.map((r) => [r.nodes.join('+'), r.measured]),
      [
        ['data', 0],
        ['teacher', 10],
        ['search', 20],
        ['eval', 0],
      ],
    );
  });

  it('has no estimate for a group with an unestimated node', () => {
    const rows = timeTable(graph, [plan({ teacher: 6 })], done({ data: 500, teacher: 8000 }));
    assert.deepEqual(rows, [{ nodes: ['data', 'teacher'], estimated: undefined, measured: 8 }]);
  });
});
