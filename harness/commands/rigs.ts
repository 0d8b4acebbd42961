/** `hil rigs`: list the rigs, validate a rig file, or check what each rig still lacks here. */
import fs from 'node:fs';
import { runDoctor } from '../dut/doctor.js';
import { listRigs, loadRig } from '../rig/rig.js';
import { HilError } from '../util/errors.js';
import { rel } from '../util/paths.js';
import { formatTable } from '../util/table.js';
import type { Command } from './command.js';
import { queueReport } from '../queue/reach.js';
import { QUEUE_OPTIONS, queueOf } from './queue-options.js';

export const rigsCommand: Command = {
  name: 'rigs',
  usage: `rigs                         list the rigs
  rigs check <file>            validate a rig file
  rigs doctor [rig...]         USB devices and serial ports here, and what each rig still lacks
      [--queue <url>]          also: does the job queue answer, and how many workers serve each rig's board`,
  options: { ...QUEUE_OPTIONS },
  async run(values, positionals) {
    const [sub, ...rest] = positionals;
    if (sub === 'doctor') {
      const names = rest.length > 0 ? rest : listRigs();
      const rigs = names.map((n) => loadRig(n));
      const report = await runDoctor(rigs, (p) => fs.existsSync(p));
      process.stdout.write(report.text + '\n');
      const queue = queueOf(values);
      if (queue) process.stdout.write(`\n${await queueReport(queue, rigs.map((r) => r.board))}\n`);
      return 0;
    }
    if (sub === 'check') {
      if (!rest[0]) throw new HilError('which rig file?', 'rigs check');
      const rig = loadRig(rest[0]);
      process.stdout.write(`${rel(rig.file)}: ok (${rig.dut.kind} ${rig.board})\n`);
      return 0;
    }
    if (sub !== undefined) throw new HilError(`unknown sub-command; available: check, doctor`, `rigs ${sub}`);
    const rows = listRigs().map((name) => {
      try {
        const rig = loadRig(name);
        return [name, rig.board, rig.dut.kind, rig.description ?? ''];
      } catch (e) {
        return [name, '-', 'invalid', e instanceof HilError ? e.toLine() : String(e)];
      }
    });
    process.stdout.write(formatTable(['rig', 'board', 'dut', 'description'], rows) + '\n');
    return 0;
  },
};
