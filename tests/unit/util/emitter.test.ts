import { describe, expect, it } from 'vitest';
import { Emitter } from '../../../shared/util/emitter.js';

describe('Emitter', () => {
  it('delivers in registration order; on returns the remover; a listener added twice runs once', () => {
    const e = new Emitter<number>();
    const seen: string[] = [];
    const a = (v: number) => seen.push(`a${v}`);
    const offA = e.on(a);
    e.on(a);
    e.on((v) => seen.push(`b${v}`));
    expect(e.listenerCount).toBe(2);
    e.emit(1);
    offA();
    e.emit(2);
    expect(seen).toEqual(['a1', 'b1', 'b2']);
    expect(e.off(a)).toBe(false);
  });

  it('once runs for one emit; its remover works before then; off takes the listener itself', () => {
    const e = new Emitter<string>();
    const seen: string[] = [];
    e.once((v) => seen.push(`once:${v}`));
    const offNever = e.once(() => seen.push('never'));
    offNever();
    const l = (v: string) => seen.push(`on:${v}`);
    e.on(l);
    e.emit('x');
    e.off(l);
    e.emit('y');
    expect(seen).toEqual(['once:x', 'on:x']);
    expect(e.listenerCount).toBe(0);
  });

  it('an emit goes to the listeners present when it starts', () => {
    const e = new Emitter();
    const seen: string[] = [];
    let offB = () => {};
    e.on(() => {
      seen.push('a');
      offB();
      e.on(() => seen.push('late'));
    });
    offB = e.on(() => seen.push('b'));
    e.emit();
    expect(seen).toEqual(['a']);
    e.emit();
    expect(seen).toEqual(['a', 'a', 'late']);
  });

  it('a throwing listener does not stop the others; the error is rethrown after them', () => {
    const e = new Emitter<number>();
    const seen: number[] = [];
    e.on(() => {
      throw new Error('first');
    });
    e.on((v) => seen.push(v));
    expect(() => e.emit(7)).toThrow('first');
    expect(seen).toEqual([7]);
    e.on(() => {
      throw new Error('second');
    });
    let caught: unknown;
    try {
      e.emit(8);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(AggregateError);
    expect((caught as AggregateError).errors.map((x: Error) => x.message)).toEqual(['first', 'second']);
    expect(seen).toEqual([7, 8]);
  });

  it('with onListenerError, errors go there and emit does not throw', () => {
    const reported: unknown[] = [];
    const e = new Emitter<number>({ onListenerError: (err) => reported.push(err) });
    const seen: number[] = [];
    e.on(() => {
      throw new Error('closed socket');
    });
    e.on((v) => seen.push(v));
    e.emit(1);
    expect(seen).toEqual([1]);
    expect(reported).toHaveLength(1);
  });

  it('emitSerial awaits each listener before the next, and collects rejections', async () => {
    const e = new Emitter<string>();
    const seen: string[] = [];
    e.on(async (v) => {
      await new Promise((r) => setTimeout(r, 5));
      seen.push(`slow:${v}`);
    });
    e.on(async () => {
      throw new Error('flush failed');
    });
    e.on((v) => void seen.push(`fast:${v}`));
    await expect(e.emitSerial('stop')).rejects.toThrow('flush failed');
    expect(seen).toEqual(['slow:stop', 'fast:stop']);
  });
});
