/**
 * Serves a serial device of this machine on TCP with ser2net (version 4, YAML configuration):
 * one RFC 2217 port (`accepter: telnet(rfc2217),tcp,...`) and one raw port (`accepter: tcp,...`),
 * both on the given address. The lab side of a remote rig, and what the tests and the
 * remote-link benchmark put in front of a QEMU UART pty to reach it as rfc2217:// and tcp://.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { HilError } from '../util/errors.js';
import { hasTool, requireTools, stopChild } from '../util/tools.js';

export interface Ser2netServer {
  rfc2217Url: string;
  tcpUrl: string;
  pid: number;
  /** stops ser2net (SIGTERM, then SIGKILL) and removes its configuration */
  stop(): Promise<void>;
}

export async function freeTcpPort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
  });
}

/** True when a TCP socket of this machine listens on `port` (Linux /proc/net/tcp and tcp6). */
export function isListening(port: number): boolean {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = fs.readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length > 3 && f[1].endsWith(`:${hex}`) && f[3] === '0A') return true;
    }
  }
  return false;
}

/**
 * The ser2net.yaml text for `device` served on `host`:`rfc2217Port` (RFC 2217) and `tcpPort` (raw).
 * Defaults are the configuration recommended for our request/response protocol (see
 * docs/rig-files.md): TCP_NODELAY on, chardelay off; ser2net's stock settings are Nagle on and
 * chardelay on, which cost about 44 ms and 3.5 ms per round trip (bench/remote-link.ts).
 */
export function ser2netConfig(device: string, host: string, rfc2217Port: number, tcpPort: number, baud = 115200, chardelay = false, nodelay = true): string {
  const connector = `serialdev,${device},${baud}n81,local`;
  // nodelay: TCP_NODELAY on ser2net's socket. Without it, Nagle's algorithm holds ser2net's second
  // small write until the first is acknowledged, and Linux delays that ACK up to 40 ms: every
  // reply of a request/response protocol then costs about 40 ms more
  const tcp = nodelay ? 'tcp(nodelay)' : 'tcp';
  // chardelay (ser2net's default: on) holds device-to-network bytes until the line has been
  // quiet for 2 characters' time, at least 1 ms: fewer TCP segments, more latency per reply
  const delay = [`    chardelay: ${chardelay}`];
  return [
    'connection: &rfc2217',
    `  accepter: telnet(rfc2217),${tcp},${host},${rfc2217Port}`,
    `  connector: ${connector}`,
    '  options:',
    '    kickolduser: true',
    ...delay,
    'connection: &raw',
    `  accepter: ${tcp},${host},${tcpPort}`,
    `  connector: ${connector}`,
    '  options:',
    '    kickolduser: true',
    ...delay,
    '',
  ].join('\n');
}

export async function startSer2net(device: string, options: { host?: string; baud?: number; timeoutMs?: number; chardelay?: boolean; nodelay?: boolean } = {}): Promise<Ser2netServer> {
  requireTools(['ser2net']);
  const host = options.host ?? '127.0.0.1';
  const [rfcPort, tcpPort] = [await freeTcpPort(host), await freeTcpPort(host)];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'yono-ser2net-'));
  const config = path.join(dir, 'ser2net.yaml');
  fs.writeFileSync(config, ser2netConfig(device, host, rfcPort, tcpPort, options.baud, options.chardelay ?? false, options.nodelay ?? true));
  // -n: stay in the foreground; -u: no UUCP lock files (a pty); dies with us (parent-death signal)
  const args = ['-n', '-u', '-c', config, '-P', path.join(dir, 'ser2net.pid')];
  const [cmd, ...argv] = [...(hasTool('setpriv') ? ['setpriv', '--pdeathsig', 'KILL'] : []), 'ser2net', ...args];
  const child: ChildProcess = spawn(cmd, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-2000)));
  child.stderr?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-2000)));
  const stop = async (): Promise<void> => {
    await stopChild(child);
    fs.rmSync(dir, { recursive: true, force: true });
  };
  // ready when both ports listen (ser2net prints nothing on success); not by connecting, which
  // would make ser2net open and close the device (a socat pty pair exits when its end closes)
  const deadline = Date.now() + (options.timeoutMs ?? 5000);
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new HilError(`ser2net exited with ${child.exitCode}: ${output.trim().split('\n').pop() ?? ''}`, config);
    }
    if (isListening(rfcPort) && isListening(tcpPort)) break;
    if (Date.now() > deadline) {
      await stop();
      throw new HilError(`ser2net did not listen on ${host}:${tcpPort} within ${options.timeoutMs ?? 5000} ms`, config);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return { rfc2217Url: `rfc2217://${host}:${rfcPort}`, tcpUrl: `tcp://${host}:${tcpPort}`, pid: child.pid ?? -1, stop };
}
