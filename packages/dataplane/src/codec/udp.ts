/**
 * Flannel's UDP backend wire format: the UDP payload is exactly the inner IP packet (port 8285 by
 * convention). Nothing to write, nothing to strip; kept as a codec so every backend has the same shape.
 */

/** Returns where the underlay payload starts: at the inner packet itself. */
export function encodeUdp(_buf: Uint8Array, inner: number): number {
  return inner;
}

/** Returns where the inner packet starts: at the payload itself (validation is the inner check's). */
export function decodeUdp(_buf: Uint8Array, start: number, _length: number): number {
  return start;
}
