/** Opens a page in headless Chromium (Debian `chromium`) and returns its DOM and console lines. */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const CHROMIUM = '/usr/bin/chromium';

export function hasChromium(): boolean {
  return fs.existsSync(CHROMIUM);
}

export function openInChromium(htmlFile: string): { status: number | null; stderr: string; dom: string; console: string[] } {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'hil-chromium-'));
  try {
    const r = spawnSync(CHROMIUM, [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update',
      '--disable-sync', `--user-data-dir=${profile}`, '--enable-logging=stderr', '--v=0', '--dump-dom', `file://${htmlFile}`,
    ], { encoding: 'utf8', timeout: 90000, maxBuffer: 64 << 20 });
    return { status: r.status, stderr: r.stderr, dom: r.stdout, console: r.stderr.split('\n').filter((l) => /:CONSOLE[:(]/.test(l)) };
  } finally {
    fs.rmSync(profile, { recursive: true, force: true });
  }
}
