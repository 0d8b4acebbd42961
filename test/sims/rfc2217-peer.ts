/**
 * A tiny RFC 2217 server on 127.0.0.1 for unit tests, written apart from harness/link/net-port.ts
 * (its own Telnet parser) so the two check each other against the RFC: it answers WILL
 * COM-PORT-OPTION with DO, confirms SET-BAUDRATE/DATASIZE/PARITY/STOPSIZE/CONTROL with the
 * code + 100, records the data bytes it got (IAC IAC undone) and the raw bytes on the wire.
 */
import net from 'node:net';

const IAC = 0xff;
const SB = 0xfa;
const SE = 0xf0;
const WILL = 0xfb;
const WONT = 0xfc;
const DO = 0xfd;
const DONT = 0xfe;
const COM_PORT = 44;

export interface PeerOptions {
  /** answer WILL COM-PORT-OPTION with DONT */
  refuseComPort?: boolean;
  /** answer nothing at all (a raw TCP port) */
  silent?: boolean;
  /** confirm this baud rate whatever was asked */
  forceBaud?: number;
}

export class Rfc2217Peer {
  readonly server: net.Server;
  port = 0;
  /** the connected client's socket */
  socket?: net.Socket;
  /** data bytes received, unescaped */
  data: number[] = [];
  /** every byte on the wire from the client */
  wire: number[] = [];
  /** option commands received, e.g. "WILL 44" */
  options: string[] = [];
  /** COM-PORT commands received: [code, value bytes] */
  commands: [number, number[]][] = [];
  baud = 0;
  private state: 'data' | 'iac' | 'opt' | 'sb' | 'sbiac' = 'data';
  private verb = 0;
  private sb: number[] = [];

  private constructor(private readonly opts: PeerOptions) {
    this.server = net.createServer((s) => this.accept(s));
  }

  static async start(opts: PeerOptions = {}): Promise<Rfc2217Peer> {
    const peer = new Rfc2217Peer(opts);
    await new Promise<void>((resolve) => peer.server.listen(0, '127.0.0.1', resolve));
    peer.port = (peer.server.address() as net.AddressInfo).port;
    return peer;
  }

  get url(): string {
    return `rfc2217://127.0.0.1:${this.port}`;
  }

  private accept(s: net.Socket): void {
    this.socket = s;
    s.on('error', () => undefined);
    s.on('data', (chunk: Buffer) => {
      for (const b of chunk) {
        this.wire.push(b);
        this.byte(b);
      }
    });
  }

  private byte(b: number): void {
    switch (this.state) {
      case 'data':
        if (b === IAC) this.state = 'iac';
        else this.data.push(b);
        return;
      case 'iac':
        if (b === IAC) {
          this.data.push(IAC);
          this.state = 'data';
        } else if (b === SB) {
          this.sb = [];
          this.state = 'sb';
        } else if (b >= WILL && b <= DONT) {
          this.verb = b;
          this.state = 'opt';
        } else this.state = 'data';
        return;
      case 'opt':
        this.state = 'data';
        this.option(this.verb, b);
        return;
      case 'sb':
        if (b === IAC) this.state = 'sbiac';
        else this.sb.push(b);
        return;
      case 'sbiac':
        if (b === SE) {
          this.state = 'data';
          this.sub(this.sb);
        } else {
          this.sb.push(b); // IAC IAC inside SB
          this.state = 'sb';
        }
        return;
    }
  }

  private option(verb: number, opt: number): void {
    this.options.push(`${({ [WILL]: 'WILL', [WONT]: 'WONT', [DO]: 'DO', [DONT]: 'DONT' } as Record<number, string>)[verb]} ${opt}`);
    if (this.opts.silent) return;
    if (verb === WILL && opt === COM_PORT) this.send([IAC, this.opts.refuseComPort ? DONT : DO, COM_PORT]);
    else if (verb === WILL) this.send([IAC, DO, opt]);
    else if (verb === DO) this.send([IAC, WILL, opt]);
  }

  private sub(sb: number[]): void {
    if (sb[0] !== COM_PORT || this.opts.silent) return;
    const [, code, ...value] = sb;
    this.commands.push([code, value]);
    let reply = value;
    if (code === 1) {
      this.baud = Buffer.from(value).readUInt32BE(0);
      if (this.opts.forceBaud !== undefined) {
        const b = Buffer.alloc(4);
        b.writeUInt32BE(this.opts.forceBaud);
        reply = [...b];
      }
    }
    this.send([IAC, SB, COM_PORT, code + 100, ...escape(reply), IAC, SE]);
  }

  /** Sends raw bytes as they are (telnet commands, or data already escaped). */
  send(bytes: number[] | Buffer): void {
    this.socket?.write(Buffer.from(bytes));
  }

  /** Sends data bytes with 0xFF doubled. */
  sendData(bytes: number[] | Buffer): void {
    this.send(escape([...bytes]));
  }

  async close(): Promise<void> {
    this.socket?.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function escape(bytes: number[]): number[] {
  return bytes.flatMap((b) => (b === IAC ? [IAC, IAC] : [b]));
}
