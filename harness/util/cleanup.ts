/**
 * Things to undo when the process ends for any reason (normal exit, error, Ctrl-C):
 * QEMU children must never outlive the harness.
 */
type Cleanup = () => void | Promise<void>;
const cleanups = new Set<Cleanup>();
let installed = false;

export function onCleanup(fn: Cleanup): () => void {
  install();
  cleanups.add(fn);
  return () => cleanups.delete(fn);
}

export async function runCleanups(): Promise<void> {
  const all = [...cleanups];
  cleanups.clear();
  for (const fn of all.reverse()) {
    try {
      await fn();
    } catch {
      // best effort: keep undoing the rest
    }
  }
}

function install(): void {
  if (installed) return;
  installed = true;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      process.stderr.write(`\n${signal === 'SIGINT' ? 'interrupted' : 'terminated'}: stopping the device and keeping the results written so far\n`);
      void runCleanups().finally(() => process.exit(130));
    });
  }
}
