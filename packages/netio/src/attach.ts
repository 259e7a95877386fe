import { createNetioError } from './errors.js';

type MaybeResizable = { resizable?: boolean; growable?: boolean };

/**
 * Native code caches pointer and length at attach(): a buffer that can later shrink or move (resizable
 * ArrayBuffer, growable SharedArrayBuffer) would make that cache unsafe, so it is refused here.
 */
export function assertAttachable(memory: Uint8Array, meta: Int32Array): void {
  for (const [name, view] of [
    ['memory', memory],
    ['meta', meta],
  ] as const) {
    const buffer = view?.buffer as MaybeResizable | undefined;
    if (buffer?.resizable || buffer?.growable) {
      throw createNetioError(
        'NETIO_BAD_ARGUMENT',
        0,
        '',
        `attach: ${name} must not be a resizable or growable buffer`,
      );
    }
  }
}
