import { closeSync, mkdirSync, openSync, truncateSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { expectedTensors, parseDecoderConfig } from '../model/config.js';

/**
 * Writes a checkpoint directory whose config.json and bf16 safetensors header describe the model
 * of `config` while its data is a sparse hole: the file has the right length but takes no disk
 * and holds zeros. Only what reads headers (inspectCheckpoint, the memory plan) can use it:
 * tests of the plan at real sizes, and bench/scaling-doc.js for models this machine cannot hold.
 */
export function writeHeaderOnlyCheckpoint(dir: string, config: Record<string, unknown>): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2));
  const header: Record<string, unknown> = {
    __metadata__: { format: 'pt', e3_note: 'header only: the data is a sparse hole' },
  };
  let offset = 0;
  for (const [name, shape] of expectedTensors(parseDecoderConfig(config, join(dir, 'config.json')))) {
    const bytes = 2 * shape.reduce((a, b) => a * b, 1);
    header[name] = { dtype: 'BF16', shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  const json = Buffer.from(JSON.stringify(header));
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(json.length));
  const file = join(dir, 'model.safetensors');
  const fd = openSync(file, 'w');
  try {
    writeSync(fd, length);
    writeSync(fd, json);
  } finally {
    closeSync(fd);
  }
  truncateSync(file, 8 + json.length + offset);
  return dir;
}
