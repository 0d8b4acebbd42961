/**
 * `hil uploads <run>...`: the upload cost of one input in each run's device protocol (the
 * `uploads` experiment's uploads.csv), one line per model with every protocol side by side, so two
 * runs on the same rig (one `--protocol yono`, one `--protocol mlperf-tiny`) compare wire bytes
 * and seconds per upload.
 */
import { HilError } from '../util/errors.js';
import { UPLOADS_TABLE, uploadLine, type UploadRow } from '../experiments/uploads.js';
import { loadRunResults } from './run-results.js';

export interface UploadComparison {
  /** one line per model */
  lines: string[];
  /** the rigs the runs used (the comparison means something on one rig) */
  rigs: string[];
}

export function compareUploads(dirs: string[]): UploadComparison {
  if (dirs.length === 0) throw new HilError('name at least one run folder', 'hil uploads');
  const byModel = new Map<string, UploadRow[]>();
  const rigs = new Set<string>();
  for (const dir of dirs) {
    const run = loadRunResults(dir);
    const rows = run.table(UPLOADS_TABLE.file, ['model', 'protocol', 'uploads', 'bytes_out_per_upload', 'bytes_in_per_upload', 's_per_upload_median']);
    if (!rows) throw new HilError(`no ${UPLOADS_TABLE.file}: run it with --experiments uploads`, run.where);
    for (const r of rows) {
      rigs.add(r.rig);
      const row = {
        ...r,
        uploads: Number(r.uploads),
        bytes_out_per_upload: Number(r.bytes_out_per_upload),
        bytes_in_per_upload: Number(r.bytes_in_per_upload),
        s_per_upload_median: Number(r.s_per_upload_median),
      } as unknown as UploadRow;
      byModel.set(r.model, [...(byModel.get(r.model) ?? []), row]);
    }
  }
  const lines = [...byModel].map(([model, rows]) => {
    const parts = rows.map(uploadLine);
    const yono = rows.find((r) => r.protocol === 'yono');
    const mlperf = rows.find((r) => r.protocol === 'mlperf-tiny');
    const ratio =
      yono && mlperf
        ? `; mlperf-tiny/yono ${(mlperf.bytes_out_per_upload / yono.bytes_out_per_upload).toFixed(2)}x bytes out, ${(mlperf.s_per_upload_median / yono.s_per_upload_median).toFixed(2)}x seconds`
        : '';
    return `${model}: ${parts.join(' | ')}${ratio}`;
  });
  return { lines, rigs: [...rigs] };
}
