import { expect } from 'chai';
import type { Capture } from '../../harness/capabilities/power-monitor.js';
import { ENERGY_COLUMNS, cutWindows, energyRow, windowEnergies } from '../../harness/power/energy.js';
import { createPowerMonitor, powerConfig } from '../../harness/power/factory.js';
import { Ppk2Monitor } from '../../harness/power/ppk2.js';
import { Lpm01aMonitor } from '../../harness/power/lpm01a.js';
import { loadRig, type Rig } from '../../harness/rig/rig.js';
import { HilError } from '../../harness/util/errors.js';

function cap(current: number[], edges: Capture['edges'], extra: Partial<Capture> = {}): Capture {
  return {
    instrument: 'test',
    description: 'test',
    sample_period_s: 1e-3,
    supply_v: 2,
    current_a: Float64Array.from(current),
    marker_mode: 'level',
    edges,
    received_samples: current.filter((x) => !Number.isNaN(x)).length,
    lost_samples: current.filter((x) => Number.isNaN(x)).length,
    loss_spans: [],
    resolution_a: 0,
    notes: [],
    ...extra,
  };
}

describe('energy analysis', () => {
  it('cuts level windows rise->fall and timestamp windows in pairs, skipping incomplete ones', () => {
    const edges: Capture['edges'] = [
      { index: 1, kind: 'fall' },
      { index: 2, kind: 'rise' },
      { index: 5, kind: 'fall' },
      { index: 7, kind: 'rise' },
    ];
    expect(cutWindows({ edges, marker_mode: 'level' })).to.deep.equal([{ start: 2, end: 5 }]);
    expect(cutWindows({ edges, marker_mode: 'timestamps' })).to.deep.equal([
      { start: 1, end: 2 },
      { start: 5, end: 7 },
    ]);
  });

  it('E = V * sum(I dt) per window; median, p10, p90 over windows; per-sample volts when measured', () => {
    // windows of 10, 20, 30, 40, 50 mA for 2 ms at 2 V
    const current: number[] = [];
    const edges: Capture['edges'] = [];
    for (const mA of [10, 20, 30, 40, 50]) {
      edges.push({ index: current.length, kind: 'rise' });
      current.push(mA / 1000, mA / 1000);
      edges.push({ index: current.length, kind: 'fall' });
      current.push(0);
    }
    const row = energyRow(cap(current, edges), 'measured');
    expect(row.energy_mJ_median).to.be.closeTo(2 * 0.03 * 2e-3 * 1e3, 1e-12);
    expect(row.energy_mJ_p10).to.be.closeTo(0.056, 1e-12); // 10 % between 0.04 and 0.08 mJ
    expect(row.energy_mJ_p90).to.be.closeTo(0.184, 1e-12);
    expect(row.window_ms_median).to.be.closeTo(2, 1e-12);
    expect(Object.keys(row).sort()).to.deep.equal([...ENERGY_COLUMNS].sort());
    const volts = Float64Array.from(current.map(() => 1));
    expect(windowEnergies(cap(current, edges, { voltage_v: volts }))[0].energy_j).to.be.closeTo(0.01 * 2e-3, 1e-15);
  });

  it('excludes windows with lost samples (exact or possibly inside) and reports the loss', () => {
    const current = [0.01, 0.01, NaN, 0.01, 0, 0.01, 0.01, 0.01, 0, 0.01, 0.01, 0.01, 0];
    const edges: Capture['edges'] = [
      { index: 0, kind: 'rise' },
      { index: 4, kind: 'fall' },
      { index: 5, kind: 'rise' },
      { index: 8, kind: 'fall' },
      { index: 9, kind: 'rise' },
      { index: 12, kind: 'fall' },
    ];
    const c = cap(current, edges, { loss_spans: [{ start: 2, end: 3, lost: 1, exact: true }, { start: 6, end: 9, lost: 2, exact: false }], lost_samples: 3 });
    const w = windowEnergies(c);
    expect(w.map((x) => x.broken)).to.deep.equal([true, true, false]);
    const row = energyRow(c, 'measured');
    expect([row.windows, row.windows_broken]).to.deep.equal([1, 2]);
    expect(row.lost_samples_pct).to.be.closeTo((100 * 3) / (12 + 3), 1e-12);
    expect(energyRow(cap([0, 0], []), 'emulated-estimate').energy_mJ_median).to.be.NaN;
  });
});

describe('power monitor from a rig', () => {
  const base = loadRig('nucleo-l4r5zi-ppk2');

  it('none or no power block -> no monitor', () => {
    expect(createPowerMonitor({ ...base, power: { kind: 'none' } })).to.equal(undefined);
    expect(createPowerMonitor({ ...base, power: undefined })).to.equal(undefined);
  });

  it('finds the instrument port by USB serial, and says which ports it saw when absent', () => {
    const listPorts = () => [{ path: '/dev/ttyACM7', serialNumber: 'C4A8B1D2E3F4' }];
    const mon = createPowerMonitor(base, { listPorts });
    expect(mon).to.be.instanceOf(Ppk2Monitor);
    expect(mon?.description).to.equal('ppk2 /dev/ttyACM7');
    expect(powerConfig(base)).to.deep.equal({ voltage_mv: 3000, sample_hz: 100000, marker: 'D0' });
    const err = (() => {
      try {
        createPowerMonitor(base, { listPorts: () => [] });
      } catch (e) {
        return e;
      }
    })();
    expect(err).to.be.instanceOf(HilError);
    expect((err as HilError).toLine()).to.match(/^nucleo-l4r5zi-ppk2: power\.usb_serial: no serial port with USB serial C4A8B1D2E3F4; ports seen: none/);
    const lpm: Rig = { ...base, power: { kind: 'lpm01a', port: '/dev/ttyACM3', voltage_mv: 3300 } };
    expect(createPowerMonitor(lpm)).to.be.instanceOf(Lpm01aMonitor);
  });
});
