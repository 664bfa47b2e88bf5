import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '@e3/core';
import { loadCheckpoint } from '@e3/plugins';
const mb = () => { const m = process.memoryUsage(); return `heap ${(m.heapUsed/2**20).toFixed(0)} MB ext ${(m.external/2**20).toFixed(0)} MB ab ${(m.arrayBuffers/2**20).toFixed(0)} MB`; };
console.log('start', mb());
await initBackend({ name: 'cpu' });
console.log('backend', mb());
const h = await loadCheckpoint(process.argv[2] ?? '/work/ckpt/qwen3-0.6b');
global.gc?.(); console.log('loaded', mb(), Object.keys(h));
