/**
 * A predictions.csv consistent with a run's accuracy.csv (reference runs do not keep theirs):
 * per variant and model, `correct` of `samples` predicted right, the rest one class off, and the
 * host always agreeing with the device (as the accuracy rows say).
 */
import fs from 'node:fs';
import path from 'node:path';
import { readCsv } from '../../harness/reports/csv.js';

export function writeConsistentPredictions(runDir: string): number {
  const run = JSON.parse(fs.readFileSync(path.join(runDir, 'run.json'), 'utf8')) as { device?: { models?: { name: string; classes: number }[] } };
  const classes = new Map((run.device?.models ?? []).map((m) => [m.name, m.classes]));
  const acc = readCsv(fs.readFileSync(path.join(runDir, 'accuracy.csv'), 'utf8'));
  const lines = ['variant,model,sample,label,device,host'];
  for (const r of acc) {
    const k = classes.get(r.model) ?? 10;
    const n = Number(r.samples);
    const correct = Number(r.correct);
    for (let i = 0; i < n; i++) {
      const label = i % k;
      const device = i < correct ? label : (label + 1) % k;
      lines.push(`${r.variant},${r.model},${i},${label},${device},${device}`);
    }
  }
  fs.writeFileSync(path.join(runDir, 'predictions.csv'), lines.join('\n') + '\n');
  return lines.length - 1;
}
