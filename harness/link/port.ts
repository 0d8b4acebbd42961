/**
 * Opening a serial port, behind a factory: the device link and every power-monitor driver take
 * one, so tests (and a link proxy) can hand in a port of their own.
 */
import { SerialPort } from 'serialport';

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
  path: string;
  baudRate: number;
}

export type PortFactory = (options: PortOptions) => RawPort;

export const defaultPortFactory: PortFactory = ({ path, baudRate }) => new SerialPort({ path, baudRate, autoOpen: false });
