// IPv4 addresses as unsigned 32-bit numbers; the text form is strict dotted quad.

const DOTTED_QUAD = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

/** Returns the address as an unsigned 32-bit number, or null if `text` is not a dotted quad. */
export function parseIpv4(text: string): number | null {
  const m = DOTTED_QUAD.exec(text);
  if (m === null) return null;
  let value = 0;
  for (let i = 1; i <= 4; i++) {
    const octet = Number(m[i]);
    if (octet > 255) return null;
    value = value * 256 + octet;
  }
  return value;
}

export function formatIpv4(value: number): string {
  return `${value >>> 24}.${(value >>> 16) & 255}.${(value >>> 8) & 255}.${value & 255}`;
}

/** Size of a block with this prefix length (2^(32-len)), exact as a double. */
export function blockSize(prefixLength: number): number {
  return 2 ** (32 - prefixLength);
}

/** Network address of `address` under `prefixLength`. */
export function maskIpv4(address: number, prefixLength: number): number {
  const size = blockSize(prefixLength);
  return address - (address % size);
}
