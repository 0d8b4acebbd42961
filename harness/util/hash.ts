import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export function sha256(data: string | Uint8Array): string {
  return crypto.createHash('sha256').update(data).digest('hex');
}

/** SHA-256 over the relative paths and contents of every file under the given roots, in sorted order. */
export function hashTree(base: string, roots: string[], exclude: (rel: string) => boolean = () => false): string {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      const r = path.relative(base, full);
      if (exclude(r)) continue;
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile()) files.push(r);
    }
  };
  for (const root of roots) {
    const full = path.join(base, root);
    if (fs.existsSync(full)) {
      if (fs.statSync(full).isDirectory()) walk(full);
      else files.push(root);
    }
  }
  const h = crypto.createHash('sha256');
  for (const f of files.sort()) {
    h.update(f + '\0');
    h.update(fs.readFileSync(path.join(base, f)));
    h.update('\0');
  }
  return h.digest('hex');
}
