/**
 * What one input costs on the link, in the run's device protocol: `uploads` real test inputs are
 * uploaded one at a time with the protocol's own upload (yono: COBS frames of up to 1020 bytes,
 * each acknowledged; mlperf-tiny: `db load N` + `db <hex>` lines of 31 bytes, 26 in energy mode,
 * each answered m-ready) and the link's byte counters and the host clock give bytes out, bytes in
 * and seconds per upload. `hil uploads <run>...` puts runs of both protocols side by side.
 * Bytes are exact; seconds are the host's wall clock over the rig's link (on QEMU the emulated
 * UART, so the row says emulated-estimate, as the DUT's other figures).
 */
import { modelTestSet } from '../datasets/model-data.js';
import { median } from '../util/stats.js';
import { formatTable } from '../util/table.js';
import { PROVENANCE_COLUMNS, type Provenance } from './context.js';
import type { Experiment, Table, VariantRow } from './experiment.js';
import type { FigureSource } from '../capabilities/figures.js';

/** uploads per model: enough for a stable median, few enough for a slow link */
export const UPLOADS_PER_MODEL = 20;

export interface UploadRow extends Provenance {
  model: string;
  protocol: string;
  input_bytes: number;
  uploads: number;
  bytes_out_per_upload: number;
  bytes_in_per_upload: number;
  s_per_upload_median: number;
  s_per_upload_min: number;
  s_per_upload_max: number;
  link: string;
  source: FigureSource;
}

export const UPLOADS_TABLE: Table<VariantRow<UploadRow>> = {
  file: 'uploads.csv',
  columns: [
    ...PROVENANCE_COLUMNS, 'variant', 'model', 'protocol', 'input_bytes', 'uploads', 'bytes_out_per_upload', 'bytes_in_per_upload',
    's_per_upload_median', 's_per_upload_min', 's_per_upload_max', 'link', 'source',
  ],
};

/** One line per upload row: "<model> <protocol>: 652 B out + 14 B in, 0.031 s per upload (median of 20)". */
export function uploadLine(r: Pick<UploadRow, 'protocol' | 'bytes_out_per_upload' | 'bytes_in_per_upload' | 's_per_upload_median' | 'uploads'>): string {
  return `${r.protocol} ${Math.round(r.bytes_out_per_upload)} B out + ${Math.round(r.bytes_in_per_upload)} B in, ${r.s_per_upload_median.toFixed(3)} s per upload (median of ${r.uploads})`;
}

export const uploadsExperiment: Experiment = {
  name: 'uploads',
  summary: 'wire bytes out/in and seconds per upload of one input, in the run\'s device protocol (hil uploads compares runs)',
  tables: [UPLOADS_TABLE],
  optIn: true,
  async runVariant(ctx) {
    const { session } = ctx;
    for (const m of ctx.models) {
      if (ctx.cancelled()) break;
      const data = modelTestSet(m);
      await session.device.select(session.modelId(m.name));
      const n = Math.min(UPLOADS_PER_MODEL, data.count);
      const [out0, in0] = [session.link.stats.bytesOut, session.link.stats.bytesIn];
      const seconds: number[] = [];
      for (let i = 0; i < n; i++) {
        const t0 = process.hrtime.bigint();
        await session.device.upload(data.x.subarray(i * data.inputBytes, (i + 1) * data.inputBytes));
        seconds.push(Number(process.hrtime.bigint() - t0) / 1e9);
      }
      ctx.run.results.append(UPLOADS_TABLE, [{
        ...ctx.provenance(data.sha256),
        variant: ctx.plan.variant,
        model: m.name,
        protocol: session.device.protocol,
        input_bytes: data.inputBytes,
        uploads: n,
        bytes_out_per_upload: (session.link.stats.bytesOut - out0) / n,
        bytes_in_per_upload: (session.link.stats.bytesIn - in0) / n,
        s_per_upload_median: median(seconds),
        s_per_upload_min: Math.min(...seconds),
        s_per_upload_max: Math.max(...seconds),
        link: session.link.description,
        source: session.dut.figures,
      }]);
    }
  },
  summarize(run) {
    const rows = run.results.rows(UPLOADS_TABLE);
    if (!rows.length) return undefined;
    const table = formatTable(
      ['model', 'variant', 'protocol', 'input B', 'B out/upload', 'B in/upload', 's/upload', 'min s', 'max s', 'source'],
      rows.map((r) => [r.model, r.variant, r.protocol, String(r.input_bytes), r.bytes_out_per_upload.toFixed(0), r.bytes_in_per_upload.toFixed(0), r.s_per_upload_median.toFixed(3), r.s_per_upload_min.toFixed(3), r.s_per_upload_max.toFixed(3), r.source]),
    );
    return `Uploads (wire bytes and host seconds per input, median of ${rows[0].uploads}; hil uploads <run> <run> compares protocols)\n${table}`;
  },
};
