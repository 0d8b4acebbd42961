/**
 * The one error type users see. The CLI prints `error: <where>: <message>` on one line and
 * exits non-zero; any other exception is a bug and is reported as such.
 */
export class HilError extends Error {
  constructor(
    message: string,
    /** file, field, device or command the error is about, e.g. "rigs/qemu-m4.yaml: dut.machine" */
    readonly where?: string,
    /** process exit code */
    readonly exitCode = 2,
  ) {
    super(message);
    this.name = 'HilError';
  }

  /** One line for the terminal. */
  toLine(): string {
    return this.where ? `${this.where}: ${this.message}` : this.message;
  }
}
