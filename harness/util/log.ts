/** Terminal output: a live progress bar on a TTY, plain log lines otherwise (CI, pipes). */
import cliProgress from 'cli-progress';

export interface Progress {
  tick(n?: number, status?: string): void;
  stop(): void;
}

export interface Logger {
  info(line: string): void;
  warn(line: string): void;
  progress(label: string, total: number): Progress;
}

const isTty = Boolean(process.stderr.isTTY) && !process.env.CI;

export function createLogger(options: { quiet?: boolean } = {}): Logger {
  const write = (line: string) => {
    if (!options.quiet) process.stderr.write(`${line}\n`);
  };
  return {
    info: write,
    warn: (line) => {
      if (!options.quiet) process.stderr.write(`warning: ${line}\n`);
    },
    progress(label: string, total: number): Progress {
      if (options.quiet) return { tick: () => undefined, stop: () => undefined };
      if (isTty) {
        const bar = new cliProgress.SingleBar(
          { format: `${label.padEnd(24)} {bar} {value}/{total} {percentage}% | {rate}/s | eta {eta_formatted} {status}`, stream: process.stderr, hideCursor: true },
          cliProgress.Presets.shades_classic,
        );
        const started = Date.now();
        let done = 0;
        bar.start(total, 0, { rate: '0', status: '' });
        return {
          tick(n = 1, status = '') {
            done += n;
            bar.update(done, { rate: (done / Math.max(0.001, (Date.now() - started) / 1000)).toFixed(1), status });
          },
          stop() {
            bar.stop();
          },
        };
      }
      return plainProgress(write, label, total);
    },
  };
}

/** Progress as plain lines, one per 10 % (CI logs, pipes, and several shards sharing a terminal). */
export function plainProgress(write: (line: string) => void, label: string, total: number): Progress {
  let done = 0;
  let nextReport = 0;
  const started = Date.now();
  return {
    tick(n = 1, status = '') {
      done += n;
      if (done >= nextReport || done === total) {
        const rate = done / Math.max(0.001, (Date.now() - started) / 1000);
        write(`${label}: ${done}/${total} (${((100 * done) / total).toFixed(0)} %, ${rate.toFixed(1)}/s)${status ? ' ' + status : ''}`);
        nextReport = Math.min(total, done + Math.max(1, Math.ceil(total / 10)));
      }
    },
    stop() {
      /* nothing to tear down */
    },
  };
}

/** A logger whose lines start with `prefix` and whose progress is plain lines (jobs running side by side). */
export function prefixedLogger(log: Logger, prefix: string): Logger {
  return {
    info: (line) => log.info(`${prefix} ${line}`),
    warn: (line) => log.warn(`${prefix} ${line}`),
    progress: (label, total) => plainProgress(log.info, `${prefix} ${label}`, total),
  };
}
