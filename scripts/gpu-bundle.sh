#!/usr/bin/env bash
# Packs scripts/gpu-check.ts and the command line for a GPU machine that has no Node and no network (docs/benchmarks.md):
# .gpu/gpu-check.mjs and .gpu/gpu-cli.mjs (the check and the command line, esbuild bundles), node (xz), Dawn's dawn.node,
# the Vulkan loader's and glvnd's .debs, and run.sh. ~54 MB; .gpu/ is git-ignored.
set -euo pipefail
cd "$(dirname "$0")/.."
rm -rf .gpu && mkdir -p .gpu/node_modules/webgpu/dist/linux-x64
# Native modules stay out of the bundles: Dawn travels beside them; better-sqlite3 (only `serve` uses it)
# gets an empty stand-in below.
npx esbuild scripts/gpu-check.ts scripts/gpu-cli.ts --bundle --platform=node --format=esm --target=node20 \
  --outdir=.gpu --out-extension:.js=.mjs --log-level=warning \
  --external:webgpu --external:better-sqlite3 \
  --banner:js="import { createRequire as __createRequire } from 'module'; const require = __createRequire(import.meta.url);"
# An empty stand-in, so the bundles load where node_modules is absent: `serve` imports better-sqlite3.
for stub in better-sqlite3; do
  mkdir -p .gpu/node_modules/$stub
  echo '{"name":"'$stub'","type":"module","main":"index.js"}' >.gpu/node_modules/$stub/package.json
  echo 'export default {};' >.gpu/node_modules/$stub/index.js
done
cp node_modules/webgpu/index.js node_modules/webgpu/package.json .gpu/node_modules/webgpu/
xz -T2 -6 -c node_modules/webgpu/dist/linux-x64/dawn.node >.gpu/dawn.node.xz
xz -T2 -6 -c "$(readlink -f "$(command -v node)")" >.gpu/node.xz
# The Vulkan loader, and glvnd: NVIDIA's Vulkan driver library links against libGLdispatch.
(cd .gpu && apt-get download libvulkan1 libglvnd0 libegl1 libglx0 libgl1 libopengl0 >/dev/null 2>&1)
cat >.gpu/run.sh <<'RUN'
#!/usr/bin/env bash
# On the GPU machine, from the repository root: .gpu/run.sh [sft-steps] [grpo-steps] [out-dir]
# runs the checks; .gpu/run.sh edgelight ARGS… runs the command line (e.g. train --backend webgpu).
set -u
here="$(cd "$(dirname "$0")" && pwd)"
if ! ldconfig -p | grep -q libvulkan.so.1; then
  for deb in "$here"/*.deb; do dpkg -x "$deb" /; done
  ldconfig
fi
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || true
nvidia_icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
for f in "$nvidia_icd" /usr/share/vulkan/icd.d/nvidia_icd.json /etc/vulkan/icd.d/nvidia_icd.json; do
  if [ -f "$f" ]; then export VK_ICD_FILENAMES="$f"; break; fi
done
echo "VK_ICD_FILENAMES=${VK_ICD_FILENAMES:-unset}"
node=$(command -v node || true)
if [ -z "$node" ]; then xz -dc "$here/node.xz" >/tmp/node && chmod +x /tmp/node && node=/tmp/node; fi
dawn="$here/node_modules/webgpu/dist/linux-x64/dawn.node"
[ -f "$dawn" ] || xz -dc "$here/dawn.node.xz" >"$dawn"
if [ "${1:-}" = edgelight ]; then shift; exec "$node" "$here/gpu-cli.mjs" "$@"; fi
exec "$node" "$here/gpu-check.mjs" "$@"
RUN
chmod +x .gpu/run.sh
du -sh .gpu
