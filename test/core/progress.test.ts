import { strict as assert } from 'node:assert';
import { Writable } from 'node:stream';
import { Progress, yieldToTimers } from '@e3/core';

/** A stream that keeps what is written; `tty` makes it look like a terminal. */
function sink(tty: boolean) {
  const chunks: string[] = [];
  const s = new Writable({
    write(c, _e, cb) {
      chunks.push(String(c));
      cb();
    },
  }) as Writable & { isTTY?: boolean; columns?: number };
  if (tty) {
    s.isTTY = true;
    s.columns = 160;
    Object.assign(s, { cursorTo: () => true, clearLine: () => true, moveCursor: () => true });
  }
  return { stream: s, text: () => chunks.join('') };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('progress (rate, elapsed time, ETA)', () => {
  it('off a terminal: a plain line at the start, at most every N s and at the end, saying what it does', async () => {
    const out = sink(false);
    const t = new Progress(out.stream, 'auto', 0.05).start('targets', 100, {
      unit: 'examples',
      what: 'teacher top-10 logits',
    });
    t.tick(10);
    await sleep(80);
    t.tick(50, { loss: 0.5 });
    t.tick(60);
    t.done();
    // The start, a heartbeat line during the sleep (10/100), the throttled ticks (50, not 60), the end.
    const lines = out.text().trim().split('\n');
    assert.ok(lines.length >= 3 && lines.length <= 4, out.text());
    assert.match(
      lines[0],
      /^\[progress\] targets: teacher top-10 logits: 0\/100 examples \(0%\), 0 examples\/s, elapsed 00s, ETA —$/,
    );
    assert.match(
      lines.at(-2)!,
      /50\/100 examples \(50%\), [\d.]+ examples\/s, elapsed \d\ds, ETA \d\ds · loss=0.5000$/,
    );
    assert.doesNotMatch(out.text(), /60\/100/);
    assert.match(lines.at(-1)!, /100\/100 examples \(100%\), .* done/);
  });

  it('a heartbeat line every N s between ticks (a long step is never silent), none after done', async () => {
    const out = sink(false);
    const t = new Progress(out.stream, 'plain', 0.05).start('distill', 4, { what: 'distilling' });
    t.tick(1);
    await sleep(180); // no tick: the heartbeat writes about three lines
    const during = out.text().trim().split('\n').length;
    assert.ok(during >= 3, out.text());
    assert.match(out.text().trim().split('\n').at(-1)!, /^\[progress\] distill: distilling: 1\/4 steps/);
    t.done();
    const after = out.text().trim().split('\n').length;
    await sleep(150);
    assert.equal(out.text().trim().split('\n').length, after);
  });

  it('the heartbeat gets through a step that blocks, when the step yields with yieldToTimers', async () => {
    const out = sink(false);
    const t = new Progress(out.stream, 'plain', 0.05).start('distill', 4, { what: 'step' });
    const lines = () => out.text().trim().split('\n').length;
    const busy = (ms: number) => {
      const end = Date.now() + ms;
      while (Date.now() < end); // a micro-batch: the event loop is blocked
    };
    // A step goes on after I/O or a timer, not from the check phase: start from a timer callback.
    await new Promise((r) => setTimeout(r, 0));
    let before = lines();
    busy(120);
    await new Promise((r) => setImmediate(r)); // the check phase comes before the next timers phase
    assert.equal(lines(), before, 'setImmediate let the overdue heartbeat run: the test no longer tells');
    await new Promise((r) => setTimeout(r, 0));
    before = lines();
    busy(120);
    await yieldToTimers();
    assert.ok(lines() > before, out.text());
    t.done();
  });

  it('--progress json: one object per line with done, total, rate, elapsed and ETA', () => {
    const out = sink(false);
    const t = new Progress(out.stream, 'json', 0).start('search#0', 20, { what: 'searching' });
    t.tick(5, { loss: 1 });
    t.done();
    const rows = out
      .text()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    assert.deepEqual(
      rows.map((r) => [r.task, r.done, r.total, r.finished]),
      [
        ['search#0', 0, 20, false],
        ['search#0', 5, 20, false],
        ['search#0', 20, 20, true],
      ],
    );
    for (const r of rows)
      assert.ok(typeof r.rate === 'number' && typeof r.elapsedSeconds === 'number' && 'etaSeconds' in r);
    assert.equal(rows[1].loss, 1);
  });

  it('on a terminal: a cli-progress bar with rate, elapsed and ETA; log lines do not tear it', () => {
    const out = sink(true);
    const p = new Progress(out.stream);
    assert.equal(p.mode, 'bar');
    const t = p.start('distill', 10, { what: 'distilling' });
    t.tick(4, { loss: 2 });
    p.log('[info] a log line');
    t.done();
    const text = out.text();
    assert.match(text, /distill: distilling \[.*\] \d+\/10 steps \| [\d.—]+ steps\/s \| \S+ elapsed \| ETA \S+/);
    assert.match(text, /\[info\] a log line\n/);
  });

  it('quiet (none) prints nothing', () => {
    const out = sink(false);
    const t = new Progress(out.stream, true).start('x', 3);
    t.tick(1);
    t.done();
    assert.equal(out.text(), '');
  });
});
