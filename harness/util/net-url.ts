/**
 * Network addresses of remote rig parts: rfc2217://host:port and tcp://host:port for serial
 * ports served by ser2net. Parsed here (below rig/) so a rig file's URL is checked on load.
 */
import { HilError } from './errors.js';

export type NetScheme = 'rfc2217' | 'tcp';

export interface NetAddress {
  scheme: NetScheme;
  host: string;
  port: number;
}

/** Is this port path a network URL (rather than a device path)? */
export function isNetUrl(path: string): boolean {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(path);
}

/** Parses rfc2217://host:port or tcp://host:port; anything else is one clear error. */
export function parseNetUrl(url: string): NetAddress {
  const m = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/i.exec(url);
  if (!m) throw new HilError('not a URL: expected rfc2217://host:port or tcp://host:port', url);
  const scheme = m[1].toLowerCase();
  if (scheme !== 'rfc2217' && scheme !== 'tcp') throw new HilError(`unknown scheme "${scheme}": expected rfc2217://host:port or tcp://host:port`, redactUrl(url));
  let rest = m[2];
  if (rest.includes('@')) throw new HilError('credentials do not belong in a URL here (user:password@ is refused; use network access rules instead)', redactUrl(url));
  rest = rest.replace(/\/$/, '');
  if (/[/?#]/.test(rest)) throw new HilError('a path, query or fragment is not allowed: expected rfc2217://host:port or tcp://host:port', url);
  const hm = /^(\[[0-9a-f:.]+\]|[^:[\]]+):(\d+)$/i.exec(rest);
  if (!hm) throw new HilError('expected host:port after the scheme, e.g. rfc2217://lab-pi.local:2217', url);
  const port = Number(hm[2]);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new HilError(`port ${hm[2]} is out of range 1-65535`, url);
  const host = hm[1].replace(/^\[(.*)\]$/, '$1');
  return { scheme, host, port };
}

/** A URL with any user:password@ part replaced, for messages. */
export function redactUrl(url: string): string {
  return url.replace(/:\/\/[^@/]*@/, '://***@');
}

export function formatAddress(a: NetAddress): string {
  return `${a.scheme}://${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}`;
}

/** One line for a socket error, by its code. */
export function describeSocketError(err: NodeJS.ErrnoException, where: string): string {
  switch (err.code) {
    case 'ECONNREFUSED':
      return `connection refused by ${where} (nothing listens on that port: is ser2net / the GDB server running there?)`;
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `host unreachable: ${where} (${err.code})`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `unknown host: ${where} (name does not resolve)`;
    case 'ECONNRESET':
      return `connection reset by ${where}`;
    case 'EPIPE':
      return `connection to ${where} is gone (broken pipe)`;
    case 'ETIMEDOUT':
      return `no answer from ${where} (timed out)`;
    default:
      return `${where}: ${err.message}`;
  }
}
