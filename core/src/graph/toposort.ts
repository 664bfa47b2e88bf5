/**
 * Orders nodes so every producer precedes its consumers (Kahn's algorithm, ties broken by
 * declaration order so runs are reproducible). Returns the cycles found, each named
 * `a → b → a`, when there is no such order.
 */
export function toposort(
  ids: readonly string[],
  deps: ReadonlyMap<string, readonly string[]>,
): { order: string[]; cycles: string[][] } {
  const indeg = new Map(ids.map((id) => [id, 0]));
  const users = new Map<string, string[]>(ids.map((id) => [id, []]));
  for (const id of ids) {
    for (const d of new Set(deps.get(id) ?? [])) {
      if (!indeg.has(d)) continue;
      indeg.set(id, indeg.get(id)! + 1);
      users.get(d)!.push(id);
    }
  }
  const order: string[] = [];
  const ready = ids.filter((id) => indeg.get(id) === 0);
  while (ready.length) {
    const id = ready.shift()!;
    order.push(id);
    for (const u of users.get(id)!) {
      indeg.set(u, indeg.get(u)! - 1);
      if (indeg.get(u) === 0) ready.push(u);
    }
  }
  return {
    order,
    cycles:
      order.length === ids.length
        ? []
        : findCycles(
            ids.filter((id) => !order.includes(id)),
            deps,
          ),
  };
}

function findCycles(stuck: readonly string[], deps: ReadonlyMap<string, readonly string[]>): string[][] {
  const cycles: string[][] = [];
  const inCycle = new Set<string>();
  for (const start of stuck) {
    if (inCycle.has(start)) continue;
    // Walk dependencies among stuck nodes until a node repeats: that loop is a cycle.
    const path: string[] = [];
    let cur: string | undefined = start;
    while (cur !== undefined && !path.includes(cur)) {
      path.push(cur);
      cur = (deps.get(cur) ?? []).find((d) => stuck.includes(d));
    }
    if (cur === undefined) continue;
    const loop = path.slice(path.indexOf(cur)).reverse();
    if (loop.some((n) => inCycle.has(n))) continue;
    loop.forEach((n) => inCycle.add(n));
    cycles.push([...loop, loop[0]]);
  }
  return cycles;
}
