/**
 * Vega-Lite -> Vega -> SVG in Node (vega's headless View: no browser, no canvas module; text
 * widths are estimated), then SVG -> PDF/PNG with rsvg-convert (Debian librsvg2-bin).
 */
import { execFileSync } from 'node:child_process';
import * as vega from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';
import { HilError } from '../../util/errors.js';
import { hasTool } from '../../util/tools.js';
import type { Figure } from './figures/style.js';

export type RasterFormat = 'pdf' | 'png';

export async function renderSvg(figure: Figure): Promise<string> {
  let compiled: vega.Spec;
  try {
    compiled = compile(figure.spec as unknown as TopLevelSpec).spec;
  } catch (e) {
    throw new HilError(`figure spec does not compile: ${(e as Error).message.split('\n')[0]}`, figure.name);
  }
  // renderer 'none': the scene graph is built and serialised, nothing is drawn
  const view = new vega.View(vega.parse(compiled), { renderer: 'none', logLevel: vega.Error });
  try {
    return roundSvg(await view.toSVG());
  } finally {
    view.finalize();
  }
}

/** Geometry to 1/100 px (Vega writes 16 digits): a quarter of the bytes, no visible change. */
export function roundSvg(svg: string): string {
  return svg.replace(/ (d|transform|x|y|x1|x2|y1|y2|width|height)="([^"]*)"/g, (_m, attr: string, value: string) => ` ${attr}="${value.replace(/-?\d*\.\d{3,}/g, (n) => String(Number(Number(n).toFixed(2))))}"`);
}

/** rsvg-convert's path, or a one-line error saying which package brings it. */
export function rsvgConvert(): string {
  if (!hasTool('rsvg-convert')) throw new HilError('rsvg-convert not found: install the Debian package librsvg2-bin (scripts/setup.sh does), or pass --format svg', 'hil report');
  return 'rsvg-convert';
}

/** Converts an SVG file; PNG at 300 dpi (the SVG is at 72 px per inch). */
export function convertSvg(svgFile: string, outFile: string, format: RasterFormat, epochSeconds?: number): void {
  const args = format === 'png' ? ['-f', 'png', '-d', '300', '-p', '300', '-z', String(300 / 72)] : ['-f', 'pdf'];
  try {
    // cairo stamps PDFs with SOURCE_DATE_EPOCH when set: the same run gives the same bytes
    const env = epochSeconds === undefined ? process.env : { ...process.env, SOURCE_DATE_EPOCH: String(Math.floor(epochSeconds)) };
    execFileSync(rsvgConvert(), [...args, '-o', outFile, svgFile], { stdio: ['ignore', 'ignore', 'pipe'], env });
  } catch (e) {
    if (e instanceof HilError) throw e;
    const stderr = String((e as { stderr?: Buffer }).stderr ?? '').trim().split('\n')[0];
    throw new HilError(`rsvg-convert failed${stderr ? `: ${stderr}` : ''}`, svgFile);
  }
}
