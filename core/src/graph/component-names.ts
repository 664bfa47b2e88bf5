import { isPlainObject, type Path } from './paths.js';

/** The `name` every component accepts: what its histories, plot series and reports call it. */
export const COMPONENT_NAME_SCHEMA = {
  type: 'string',
  pattern: '^[A-Za-z_][A-Za-z0-9_.-]*$',
  description:
    'a name for this instance in histories, plots and reports (default: its own name, with its list ' +
    'index when another in the list has the same, e.g. forwardKl[1]); names in one list must differ',
};

/**
 * The names of a list of components (e.g. a node's loss terms): `given[i]` when the user wrote
 * `name:`, else `own[i]` (the component's own name), suffixed by the index (`forwardKl[1]`) when
 * another item of the list would have the same name. Distinct unless two given names are equal.
 */
export function distinctNames(own: readonly string[], given: readonly (string | undefined)[]): string[] {
  const first = own.map((n, i) => given[i] ?? n);
  return first.map((n, i) => (given[i] === undefined && first.filter((m) => m === n).length > 1 ? `${n}[${i}]` : n));
}

/** A `name:` given in a list of components that another item of the list also has. */
export function nameCollisions(list: readonly unknown[], at: Path): { path: Path; message: string; fix: string }[] {
  const given = list.map((v) => (isPlainObject(v) && typeof v.name === 'string' ? v.name : undefined));
  const own = list.map((v) =>
    isPlainObject(v) && typeof v.component === 'string' ? v.component.slice(v.component.lastIndexOf('.') + 1) : '',
  );
  const names = distinctNames(own, given);
  return names.flatMap((n, i) => {
    const other = names.findIndex((m, j) => j < i && m === n); // (a default name meeting it gets its index)
    if (given[i] === undefined || other < 0) return [];
    return [
      {
        path: [...at, i, 'name'],
        message:
          `name "${n}" is also the name of item ${other} of this list; ` +
          'their histories and plots would overwrite each other',
        fix: `give item ${i} a name no other item has, e.g. name: ${n}-${i}`,
      },
    ];
  });
}
