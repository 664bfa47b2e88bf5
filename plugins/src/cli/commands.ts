import type { CommandContributor } from '@e3/core';

/** Commands the plugins package adds to `e3` (model inspection, generation, pruning). */
export const cliCommands: CommandContributor[] = [];
