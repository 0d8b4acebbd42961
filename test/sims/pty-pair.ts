/**
 * A connected pair of pseudo-terminals from socat: the simulator opens one end, the driver
 * under test the other, exactly as it would open a real instrument's /dev/ttyACM*.
 */
import { spawn, type ChildProcess } from 'node:child_process';

export interface PtyPair {
  /** simulator's end */
  a: string;
  /** driver's end */
  b: string;
  close(): Promise<void>;
}

export async function openPtyPair(timeoutMs = 5000): Promise<PtyPair> {
  const child: ChildProcess = spawn('socat', ['-d', '-d', 'pty,raw,echo=0', 'pty,raw,echo=0'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const paths = await new Promise<string[]>((resolve, reject) => {
    let err = '';
    const found: string[] = [];
    const timer = setTimeout(() => reject(new Error(`socat gave no pty pair within ${timeoutMs} ms: ${err}`)), timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      err += chunk.toString();
      for (const m of err.matchAll(/PTY is (\S+)/g)) if (!found.includes(m[1])) found.push(m[1]);
      // socat announces both ptys, then "starting data transfer loop"
      if (found.length >= 2 && /starting data transfer loop/.test(err)) {
        clearTimeout(timer);
        resolve(found.slice(0, 2));
      }
    });
  });
  return {
    a: paths[0],
    b: paths[1],
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
