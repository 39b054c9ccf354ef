// FileLock's fairness accounting (src/dbm/lock.ts), with a clock the test
// controls: a burst of holding becomes overdue after BURST_MS, a gap resets
// it, and a gap counts as served even when its timer fires early by the clock.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { FileLock, BURST_MS, FAIR_GAP_MS } from '../dist/dbm/lock.js';
import { tempDir } from './helpers/index.js';

describe('FileLock fairness accounting', () => {
  let tmp;
  let fd;
  let clock;
  let lock;
  before(() => {
    tmp = tempDir('lock');
    fd = fs.openSync(tmp.file('f'), 'w');
  });
  after(() => {
    fs.closeSync(fd);
    tmp.cleanup();
  });
  beforeEach(() => {
    clock = 1000;
    lock = new FileLock(fd, 'f', () => clock);
  });
  afterEach(() => lock.release());

  it('a lock held for longer than a burst is overdue; one held briefly is not', () => {
    assert.equal(lock.tryAcquire('exclusive'), true);
    clock += BURST_MS - 1;
    assert.equal(lock.overdue, false);
    clock += 2;
    assert.equal(lock.overdue, true);
  });

  it('re-taking the lock with gaps shorter than FAIR_GAP_MS continues the burst; a longer gap ends it', () => {
    lock.tryAcquire('exclusive');
    for (let i = 0; i < 30; i++) {
      clock += 5;
      lock.release();
      clock += FAIR_GAP_MS - 1;
      lock.tryAcquire('exclusive');
    }
    assert.equal(lock.overdue, true, 'short gaps do not end a burst');
    lock.release();
    clock += FAIR_GAP_MS;
    lock.tryAcquire('exclusive');
    assert.equal(lock.overdue, false, 'a full gap starts a new burst');
  });

  it('after yieldToOthers() the next acquisition starts a new burst, even if the timer fired early by the clock', async () => {
    lock.tryAcquire('exclusive');
    clock += BURST_MS + 1;
    assert.equal(lock.overdue, true);
    // The test's clock does not move during the wait: as if the timer fired early.
    await lock.yieldToOthers();
    assert.equal(lock.held, null);
    lock.tryAcquire('exclusive');
    assert.equal(lock.overdue, false);
    clock += BURST_MS - 1;
    assert.equal(lock.overdue, false, 'a whole new burst before the next gap');
  });
});
