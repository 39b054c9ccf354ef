// FileLock's fairness accounting (src/dbm/lock.ts), with a clock the test
// controls: a burst of holding becomes overdue after BURST_MS, a gap resets
// it, and a gap counts as served even when its timer fires early by the clock.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { FileLock, HandleLock, BURST_MS, FAIR_GAP_MS } from '../dist/dbm/lock.js';
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

describe('HandleLock state machine', () => {
  let tmp;
  before(() => {
    tmp = tempDir('handle-lock');
  });
  after(() => tmp.cleanup());

  const turn = () => new Promise((resolve) => setImmediate(resolve));

  it('unlocked -> shared/exclusive (operation-scoped, gone when the event loop turns) -> held while holders run -> closed', async () => {
    const fd = fs.openSync(tmp.file('a'), 'w');
    const lock = new HandleLock(fd, 'a');
    assert.equal(lock.state, 'unlocked');
    assert.equal(lock.readable, false);
    assert.equal(lock.take('shared', 1000), true, 'taken now: the caller re-reads');
    assert.equal(lock.state, 'shared');
    assert.equal(lock.readable, true);
    assert.equal(lock.writable, false);
    assert.equal(lock.take('shared', 1000), false, 'already held: nothing to re-read');
    assert.equal(lock.take('exclusive', 1000), true, 'an upgrade re-takes the lock (flock cannot upgrade atomically)');
    assert.equal(lock.state, 'exclusive');
    assert.equal(lock.writable, true);
    lock.releaseAtTurnEnd();
    await turn();
    assert.equal(lock.state, 'unlocked', 'an operation-scoped lock goes when the loop turns');

    lock.take('exclusive', 1000);
    lock.hold();
    assert.equal(lock.state, 'held');
    lock.releaseAtTurnEnd();
    await turn();
    assert.equal(lock.state, 'held', 'a holder keeps it across turns');
    lock.unhold();
    assert.equal(lock.state, 'exclusive');
    await turn();
    assert.equal(lock.state, 'unlocked', 'the last holder leaves it operation-scoped again');

    lock.take('exclusive', 1000);
    lock.hold();
    lock.holdForUser();
    assert.equal(lock.userLocked, true);
    lock.unlockUser();
    assert.equal(lock.userLocked, false);
    assert.equal(lock.state, 'unlocked', 'unlock() releases at once');

    lock.take('shared', 1000);
    lock.markStale();
    assert.equal(lock.readable, false, 'a stale snapshot must be re-read first');
    assert.equal(lock.take('shared', 1000), false);
    lock.markFresh();
    assert.equal(lock.readable, true);
    lock.close();
    assert.equal(lock.state, 'closed');
    assert.throws(() => lock.take('shared', 1000), { name: 'DbmClosedError' });
    fs.closeSync(fd);
  });
});
