/**
 * Opening a serial port, behind a factory: the device link and every power-monitor driver take
 * one, so tests (and a link proxy) can hand in a port of their own.
 */
import { SerialPort } from 'serialport';
import { isNetUrl } from '../util/net-url.js';
import { NetPort } from './net-port.js';

/** The part of serialport's stream the drivers use (SerialPort and SerialPortStream both fit). */
export interface RawPort {
  readonly isOpen: boolean;
  open(callback: (err: Error | null) => void): void;
  write(data: Buffer, callback?: (err: Error | null | undefined) => void): boolean;
  drain(callback: (err: Error | null) => void): void;
  close(callback?: (err: Error | null) => void): void;
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
  on(event: 'close', listener: () => void): unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
}

export interface PortOptions {
  /** a device path (/dev/ttyACM0, a pty) or a network URL (rfc2217://host:port, tcp://host:port) */
  path: string;
  baudRate: number;
  /** a network port: keep trying this long (ms) while the server drops new connections at once */
  retryForMs?: number;
}

export type PortFactory = (options: PortOptions) => RawPort;

/** A local serial device through the serialport package, or a remote one (net-port.ts) for a URL. */
export const defaultPortFactory: PortFactory = ({ path, baudRate, retryForMs }) =>
  isNetUrl(path) ? new NetPort(path, { baudRate, retryForMs }) : new SerialPort({ path, baudRate, autoOpen: false });
