import * as tf from '@tensorflow/tfjs-core';
import { enableLargeTensors } from './large-tensors.js';

/** What Dawn says about the adapter, and whether it is a real GPU. */
export interface AdapterReport {
  description: string;
  hardware: boolean;
  limits: Record<string, number>;
}

let report: AdapterReport | undefined;

interface GpuAdapterLike {
  info?: { vendor?: string; architecture?: string; device?: string; description?: string };
  isFallbackAdapter?: boolean;
  features: Set<string>;
  limits: Record<string, number>;
  requestDevice(d?: { requiredFeatures?: string[] } & Record<string, unknown>): Promise<unknown>;
}

/**
 * Limits asked of the adapter at their maximum (WebGPU's defaults are 128 MiB bindings, 256 MiB
 * buffers, 16 KiB workgroup storage, 8 storage buffers per stage). tfjs-backend-webgpu 4.22 asks
 * for the first three itself; asking here does not depend on it. Tensors still above the binding
 * limit are handled by large-tensors.ts.
 */
const REQUESTED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxStorageBuffersPerShaderStage',
];

/** Software rasterisers Dawn may find (Mesa's lavapipe/llvmpipe, SwiftShader). */
const SOFTWARE = /llvmpipe|lavapipe|swiftshader|software|cpu/i;

/**
 * Puts Dawn's WebGPU (the `webgpu` npm package) on `navigator.gpu` before tfjs-backend-webgpu
 * is imported, and drops device features the adapter lacks from tfjs's device request (Dawn
 * rejects an unsupported `bgra8unorm-storage`, which tfjs asks for when it can). Returns the
 * adapter report; throws when there is no adapter.
 */
export async function describeAdapter(): Promise<AdapterReport> {
  if (report) return report;
  const { create, globals } = (await import('webgpu' as string)) as {
    create(flags: string[]): { requestAdapter(): Promise<GpuAdapterLike | null> };
    globals: object;
  };
  Object.assign(globalThis, globals);
  const gpu = create([]);
  Object.defineProperty(globalThis, 'navigator', {
    value: { ...(globalThis as { navigator?: object }).navigator, gpu },
    configurable: true,
    writable: true,
  });
  const adapter = await gpu.requestAdapter();
  if (!adapter)
    throw new Error(
      'Dawn found no WebGPU adapter (is a Vulkan driver installed? Debian 12 needs mesa-vulkan-drivers from bookworm-backports)',
    );
  const proto = Object.getPrototypeOf(adapter) as GpuAdapterLike & { e3Patched?: boolean };
  if (!proto.e3Patched) {
    const requestDevice = proto.requestDevice;
    proto.requestDevice = function (this: GpuAdapterLike, d = {}) {
      const requiredFeatures = (d.requiredFeatures ?? []).filter((f) => this.features.has(f));
      const requiredLimits: Record<string, number> = { ...(d.requiredLimits as Record<string, number>) };
      for (const k of REQUESTED_LIMITS) requiredLimits[k] = Math.max(requiredLimits[k] ?? 0, Number(this.limits[k]));
      return requestDevice.call(this, { ...d, requiredFeatures, requiredLimits });
    };
    proto.e3Patched = true;
  }
  const info = adapter.info ?? {};
  const description =
    [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' / ') || 'unknown adapter';
  const limits: Record<string, number> = {};
  for (const k of [
    'maxBufferSize',
    'maxStorageBufferBindingSize',
    'maxStorageBuffersPerShaderStage',
    'maxComputeWorkgroupSizeX',
    'maxComputeInvocationsPerWorkgroup',
  ])
    limits[k] = Number(adapter.limits[k]);
  report = { description, hardware: !adapter.isFallbackAdapter && !SOFTWARE.test(description), limits };
  return report;
}

/**
 * tfjs-backend-webgpu's AddN binds one storage buffer per input; past the device's
 * per-stage limit (8 on lavapipe) the pipeline is invalid and the result silently wrong.
 * Autodiff sums gradients with AddN (a tensor used by every layer has many), so AddN is
 * re-registered to sum in chunks that fit the limit.
 */
function registerChunkedAddN(limit: number): void {
  const original = tf.getKernel('AddN', 'webgpu');
  if (!original || (original as { e3Chunked?: boolean }).e3Chunked) return;
  const chunk = Math.max(2, limit - 1);
  const kernelFunc = (args: {
    inputs: tf.TensorInfo[] | Record<string, tf.TensorInfo>;
    backend: { disposeData(id: tf.DataId): void };
    attrs?: object;
  }): tf.TensorInfo => {
    let items = Object.values(args.inputs) as tf.TensorInfo[];
    const temporary: tf.TensorInfo[] = [];
    while (items.length > chunk) {
      const next: tf.TensorInfo[] = [];
      for (let i = 0; i < items.length; i += chunk) {
        const part = items.slice(i, i + chunk);
        if (part.length === 1) {
          next.push(part[0]);
          continue;
        }
        const sum = original.kernelFunc({
          ...args,
          inputs: part as unknown as tf.NamedTensorInfoMap,
        } as never) as tf.TensorInfo;
        temporary.push(sum);
        next.push(sum);
      }
      items = next;
    }
    const out = original.kernelFunc({
      ...args,
      inputs: items as unknown as tf.NamedTensorInfoMap,
    } as never) as tf.TensorInfo;
    for (const t of temporary) if (t !== out) args.backend.disposeData(t.dataId);
    return out;
  };
  tf.unregisterKernel('AddN', 'webgpu');
  tf.registerKernel({
    kernelName: 'AddN',
    backendName: 'webgpu',
    kernelFunc: kernelFunc as unknown as tf.KernelFunc,
    e3Chunked: true,
  } as tf.KernelConfig);
}

/** Initialises the webgpu backend; returns a note for the run log. */
export async function setupWebgpu(): Promise<string> {
  const r = await describeAdapter();
  await import('@tensorflow/tfjs-backend-webgpu' as string);
  if (!(await tf.setBackend('webgpu'))) throw new Error('tf.setBackend("webgpu") failed');
  await tf.ready();
  // The device's limit (requested at the adapter's maximum: REQUESTED_LIMITS).
  const device = (tf.backend() as unknown as { device?: { limits?: Record<string, number> } }).device;
  registerChunkedAddN(Number(device?.limits?.maxStorageBuffersPerShaderStage) || 8);
  const kind = r.hardware ? 'hardware GPU' : 'software device';
  return `adapter ${r.description} (${kind}); AddN chunked to the storage-buffer limit; ${enableLargeTensors()}`;
}
