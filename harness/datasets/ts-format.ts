/**
 * The sktime/aeon `.ts` time-series text format (UEA/UCR archives): `#` comments, `@key value`
 * header lines, then after `@data` one case per line: comma-separated values per dimension,
 * dimensions separated by `:`, the class label last.
 */
import { HilError } from '../util/errors.js';

export interface TsFile {
  /** @classLabel list, in header order */
  classLabels: string[];
  dimensions: number;
  /** [case][dimension][time] */
  series: number[][][];
  /** index into classLabels per case */
  labels: number[];
}

export function parseTsFile(text: string, where: string): TsFile {
  const lines = text.split(/\r?\n/);
  let classLabels: string[] | undefined;
  let dataAt = -1;
  for (let i = 0; i < lines.length && dataAt < 0; i++) {
    const t = lines[i].trim();
    if (!t.startsWith('@')) continue;
    const [key, ...rest] = t.split(/\s+/);
    const k = key.toLowerCase();
    if (k === '@classlabel') {
      if (rest[0] !== 'true' || rest.length < 2) throw new HilError(`line ${i + 1}: @classLabel must be 'true' and list the labels`, where);
      classLabels = rest.slice(1);
    } else if (k === '@missing' && rest[0] === 'true') {
      throw new HilError(`line ${i + 1}: files with missing values are not supported`, where);
    } else if (k === '@data') {
      dataAt = i + 1;
    }
  }
  if (!classLabels) throw new HilError('no @classLabel header line', where);
  if (dataAt < 0) throw new HilError('no @data line', where);
  const series: number[][][] = [];
  const labels: number[] = [];
  let dimensions = -1;
  for (let i = dataAt; i < lines.length; i++) {
    const t = lines[i].trim();
    if (!t || t.startsWith('#')) continue;
    const parts = t.split(':');
    const label = classLabels.indexOf(parts[parts.length - 1].trim());
    if (label < 0) throw new HilError(`line ${i + 1}: label '${parts[parts.length - 1]}' is not in @classLabel`, where);
    const dims = parts.slice(0, -1).map((d, j) =>
      d.split(',').map((v) => {
        const x = Number(v);
        if (v.trim() === '' || !Number.isFinite(x)) throw new HilError(`line ${i + 1}, dimension ${j}: '${v}' is not a number`, where);
        return x;
      }),
    );
    if (dimensions < 0) dimensions = dims.length;
    if (dims.length !== dimensions) throw new HilError(`line ${i + 1}: ${dims.length} dimensions, earlier cases have ${dimensions}`, where);
    series.push(dims);
    labels.push(label);
  }
  if (series.length === 0) throw new HilError('no cases after @data', where);
  return { classLabels, dimensions, series, labels };
}
