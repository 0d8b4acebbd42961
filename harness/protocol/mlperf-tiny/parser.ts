/**
 * Lines of an MLPerf Tiny device (mlcommons/tiny benchmark/api): text lines ending in "\r\n"
 * (some firmware prints a bare "\n"), arriving in arbitrary chunks. Like the official runner's
 * serial reader, '\r' and '\0' are dropped and '\n' ends a line; empty lines are skipped.
 */

/** A line longer than this without '\n' is not a protocol reply: cut it so memory stays bounded. */
export const MAX_LINE_CHARS = 64 * 1024;

export class LineParser {
  private partial = '';

  constructor(private readonly onLine: (line: string) => void) {}

  /** Feeds raw bytes; calls onLine for every complete non-empty line. */
  push(chunk: Buffer): void {
    // latin1: every byte maps to one char, so a chunk boundary can never split a character
    const text = this.partial + chunk.toString('latin1').replace(/[\r\0]/g, '');
    const parts = text.split('\n');
    this.partial = parts.pop() ?? '';
    if (this.partial.length > MAX_LINE_CHARS) {
      parts.push(this.partial);
      this.partial = '';
    }
    for (const p of parts) if (p.length > 0) this.onLine(p);
  }

  /** The bytes received after the last '\n' (a line still arriving). */
  get pending(): string {
    return this.partial;
  }
}

/** What one reply line means to the host. */
export type Reply =
  | { kind: 'ready' }
  | { kind: 'error'; message: string }
  | { kind: 'lap'; us: number }
  | { kind: 'results'; values: number[] }
  | { kind: 'name'; device: string; vendor: string }
  | { kind: 'profile'; profile: string }
  | { kind: 'model'; model: string }
  | { kind: 'load-done' }
  | { kind: 'message'; text: string }
  | { kind: 'other'; text: string };

/**
 * Classifies a line by the formats of internally_implemented.{h,cpp} and the reference
 * submitter_implemented.cpp: "m-ready", "e-[...]", "m-lap-us-%lu", "m-results-[a,b,...]",
 * "m-name-%s-[%s]", "m-profile-[...]", "m-model-[...]", "m-load-done"; other "m-" lines are
 * messages, anything else is device log output.
 */
export function classify(line: string): Reply {
  const l = line.trim();
  if (l === 'm-ready') return { kind: 'ready' };
  let m = /^e-\[(.*)\]$/.exec(l) ?? /^e-(.*)$/.exec(l);
  if (m) return { kind: 'error', message: m[1] };
  if ((m = /^m-lap-us-(\d+)$/.exec(l))) return { kind: 'lap', us: Number(m[1]) };
  if ((m = /^m-results-\[(.*)\]$/.exec(l))) {
    const values = parseScores(m[1]);
    return values ? { kind: 'results', values } : { kind: 'other', text: l };
  }
  if ((m = /^m-name-([^[]+)-\[([^\]]*)\]$/.exec(l))) return { kind: 'name', device: m[1], vendor: m[2] };
  if ((m = /^m-profile-\[([^\]]*)\]$/.exec(l))) return { kind: 'profile', profile: m[1] };
  if ((m = /^m-model-\[([^\]]*)\]$/.exec(l))) return { kind: 'model', model: m[1] };
  if (l === 'm-load-done') return { kind: 'load-done' };
  if (l.startsWith('m-')) return { kind: 'message', text: l };
  return { kind: 'other', text: l };
}

/** "0.012,-3.5,7" (floats as "%0.3f" or ints) -> numbers; undefined if any item is not a number. */
export function parseScores(list: string): number[] | undefined {
  const items = list.split(',').map((s) => s.trim()).filter((s) => s.length > 0);
  const values = items.map((s) => (/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(s) ? Number(s) : NaN));
  return values.some((v) => !Number.isFinite(v)) ? undefined : values;
}
