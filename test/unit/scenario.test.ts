import { expect } from 'chai';
import { makeSchedules, seededRandom } from '../../harness/experiments/scenario.js';

describe('scenario schedules', () => {
  const models = ['a', 'b', 'c'];

  it('round robin cycles the models and advances each model\'s sample', () => {
    const [rr] = makeSchedules(models, 7, 1);
    expect(rr.name).to.equal('round-robin');
    expect(rr.events.map((e) => e.model).join('')).to.equal('abcabca');
    expect(rr.events.map((e) => e.sample)).to.deep.equal([0, 0, 0, 1, 1, 1, 2]);
  });

  it('the random schedule is fixed by its seed and changes with it', () => {
    const one = makeSchedules(models, 50, 7)[1];
    const again = makeSchedules(models, 50, 7)[1];
    const other = makeSchedules(models, 50, 8)[1];
    expect(one.name).to.equal('random-seed-7');
    expect(one.events).to.deep.equal(again.events);
    expect(one.events.map((e) => e.model)).to.not.deep.equal(other.events.map((e) => e.model));
    // every model appears, and samples count up per model
    for (const m of models) {
      const mine = one.events.filter((e) => e.model === m);
      expect(mine.length).to.be.greaterThan(5);
      expect(mine.map((e) => e.sample)).to.deep.equal(mine.map((_, i) => i));
    }
  });

  it('seededRandom is uniform enough in [0, 1)', () => {
    const r = seededRandom(123);
    const bins = [0, 0, 0, 0];
    for (let i = 0; i < 4000; i++) {
      const v = r();
      expect(v).to.be.within(0, 1 - Number.EPSILON);
      bins[Math.floor(v * 4)]++;
    }
    for (const b of bins) expect(b).to.be.within(850, 1150);
  });
});
