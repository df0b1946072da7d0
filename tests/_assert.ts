/**
 * Assertions for the tests, on top of Node's built-in `node:assert/strict`
 * (JSR's @std/assert cannot be downloaded on our machines).
 *
 * Owns: the names tests use (assert, assertEquals, assertThrows, ...).
 */
import { deepStrictEqual, match, ok } from "node:assert/strict";

// deno-lint-ignore no-explicit-any
type ErrorClass<E extends Error> = new (...args: any[]) => E;

/** Fails unless `condition` is truthy. */
export function assert(condition: unknown, message?: string): asserts condition {
  ok(condition, message);
}

/** Fails unless `actual` deeply and strictly equals `expected`. */
export function assertEquals(actual: unknown, expected: unknown, message?: string): void {
  deepStrictEqual(actual, expected, message);
}

/** Fails unless `actual` matches `pattern`. */
export function assertMatch(actual: string, pattern: RegExp, message?: string): void {
  match(actual, pattern, message);
}

/** Fails unless `run` throws an instance of `errorClass`; returns the error. */
export function assertThrows<E extends Error>(run: () => unknown, errorClass: ErrorClass<E>): E {
  try {
    run();
  } catch (error) {
    if (error instanceof errorClass) return error;
    throw new Error(`expected ${errorClass.name}, got ${String(error)}`);
  }
  throw new Error(`expected ${errorClass.name} to be thrown, nothing was`);
}

/** Fails unless `run` rejects with an instance of `errorClass`; returns the error. */
export async function assertRejects<E extends Error>(
  run: () => Promise<unknown>,
  errorClass: ErrorClass<E>,
): Promise<E> {
  try {
    await run();
  } catch (error) {
    if (error instanceof errorClass) return error;
    throw new Error(`expected ${errorClass.name}, got ${String(error)}`);
  }
  throw new Error(`expected ${errorClass.name} to be rejected, nothing was`);
}
