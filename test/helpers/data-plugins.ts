/**
 * Test nodes for data files changed mid-run (test/data/jsonl-changed.test.ts), loaded with `--plugin`:
 * `test.truncateFile` passes a Dataset on after cutting the file at `path` to `keepBytes` bytes, as a
 * user editing or a disk filling up would, after the data node checked it and before anyone read it.
 */
import 'reflect-metadata';
import { truncateSync } from 'node:fs';
import { injectable } from 'inversify';
import type { Observable } from 'rxjs';
import { once, type GraphNode, type PluginManifest } from '@e3/core';
import type { Dataset } from '@e3/plugins';

interface TruncateParams {
  path: string;
  keepBytes: number;
}

@injectable()
class TruncateFileNode implements GraphNode<TruncateParams> {
  connect(inputs: { data: Observable<Dataset> }, p: TruncateParams) {
    return {
      data: once(inputs, ['data'], ({ data }) => {
        truncateSync(p.path, p.keepBytes);
        return data;
      }),
    };
  }
}

export const plugins: PluginManifest[] = [
  {
    key: 'test.truncateFile',
    doc: 'Passes a Dataset on after truncating the file at path to keepBytes bytes.',
    inputs: { data: { type: 'Dataset' } },
    outputs: { data: { type: 'Dataset' } },
    params: {
      type: 'object',
      required: ['path', 'keepBytes'],
      additionalProperties: false,
      properties: { path: { type: 'string' }, keepBytes: { type: 'integer', minimum: 0 } },
    },
    node: TruncateFileNode,
  },
];
