#!/usr/bin/env bash
# One prepared check for a machine with an NVIDIA GPU (a few minutes): what the GPU and Vulkan
# stack look like, the Dawn adapter and its limits, the webgpu parity suite, then step timings
# on a 24-layer d=1024 model against the CPU path, written to bench/results/gpu.md.
# Needs node_modules and a build (npm ci && npm run build) on that machine.
set -u
cd "$(dirname "$0")/.."
echo "== nvidia-smi"; nvidia-smi || echo "(no nvidia-smi)"
echo "== Vulkan ICDs"; ls /usr/share/vulkan/icd.d /etc/vulkan/icd.d 2>/dev/null || echo "(none)"
echo "== Dawn adapter"
node --input-type=module -e "import { describeAdapter } from '@e3/core/dist/webgpu/setup-webgpu.js'; console.log(JSON.stringify(await describeAdapter(), null, 2));" 2>&1 | grep -v '^Warning' \
  || node -e "import('./core/dist/webgpu/setup-webgpu.js').then(async (m) => console.log(JSON.stringify(await m.describeAdapter(), null, 2)))"
echo "== webgpu parity suite"
npx mocha --spec test/dist/webgpu/webgpu.test.js 2>&1 | grep -v '^Warning' | tail -15
echo "== step timings (webgpu vs wasm)"
timeout 420 node bench/gpu-bench.js "$@" 2>&1 | grep -v '^Warning' | tail -20
