/** A plain-text table for the terminal and summary.txt: numbers right-aligned, text left-aligned. */
export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  // Numbers right-aligned, text left-aligned.
  const numeric = (c: string) => /^[-+]?[\d.,]+(%|x| ?ms)?$/.test(c) || c === '-';
  const line = (cells: string[]) => cells.map((c, i) => (i > 0 && numeric(c) ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** A figure for a summary table: `digits` significant digits, one decimal from 100 up, '-' when not finite. */
export function formatFigure(x: number, digits = 3): string {
  return Number.isFinite(x) ? (Math.abs(x) >= 100 ? x.toFixed(1) : Number(x.toPrecision(digits)).toString()) : '-';
}
