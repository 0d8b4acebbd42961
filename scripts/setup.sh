#!/usr/bin/env bash
# Installs what `npm run demo` and `npm test` (--test) need when it is missing, then builds the harness.
# Idempotent and quiet when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "setup: $*" >&2; }

# 1. Debian packages: cross compiler + C library, QEMU, host gcc, rsvg-convert, ser2net, the Fashion-MNIST data set.
declare -A need=(
  [arm-none-eabi-gcc]=gcc-arm-none-eabi
  [qemu-system-arm]=qemu-system-arm
  [make]=make
  [socat]=socat            # pseudo-terminal pairs for the power-monitor simulators in test/
  [ser2net]=ser2net        # serial ports over the network (rfc2217://, tcp://) in test/ and the remote-link bench
  [gcc]=gcc                # host compiler for the QEMU cycle-model plugin (firmware/tools/qemu-cycles)
  [rsvg-convert]=librsvg2-bin  # SVG -> PDF/PNG for the figures of `hil report`
)
# `npm test` only: headless Chromium opens the report page (test/integration/report.test.ts);
# redis-server is the job queue's broker, started on loopback (also with TLS) by test/integration/queue.test.ts
if [ "${1:-}" = "--test" ]; then
  need[chromium]=chromium
  need[redis-server]=redis-server
  need[openssl]=openssl      # a CA and a server certificate for the queue test's TLS Redis
fi
missing=()
for tool in "${!need[@]}"; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("${need[$tool]}")
done
# `npm test` only: the independent TFLite interpreter, Arm NN's CpuRef backend (test/contract/tflite-models.test.ts)
if [ "${1:-}" = "--test" ]; then
  /usr/bin/python3 -c 'import pyarmnn' >/dev/null 2>&1 || missing+=(python3-pyarmnn)
  [ -f /usr/lib/x86_64-linux-gnu/armnn22/Arm_CpuRef_backend.so ] || ls /usr/lib/*/armnn*/Arm_CpuRef_backend.so >/dev/null 2>&1 || missing+=(libarmnn-cpuref-backend22)
fi
[ -d /usr/lib/arm-none-eabi/newlib ] || missing+=(libnewlib-arm-none-eabi)
[ -f /usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz ] || [ -n "${YONO_FMNIST_DIR:-}" ] || missing+=(dataset-fashion-mnist)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -ne 0 ]; then
    say "missing Debian packages: ${missing[*]}"
    say "run as root, or: sudo apt-get install -y ${missing[*]}"
    exit 1
  fi
  say "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# 2. npm packages (only when missing or older than the lock file).
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing npm packages"
  npm ci --no-audit --no-fund --loglevel=error
fi

# 3. The harness itself (TypeScript -> dist/).
npx tsc -p tsconfig.json
