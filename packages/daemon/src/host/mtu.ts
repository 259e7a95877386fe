// TUN MTU = underlay MTU − what each backend wraps around an inner packet (IPv4 underlay).
export type Backend = 'udp' | 'vxlan' | 'ipip';

export const BACKEND_OVERHEAD: Readonly<Record<Backend, number>> = {
  // outer IPv4 20 + UDP 8 (Flannel udp: 1500 → 1472)
  udp: 28,
  // outer IPv4 20 + UDP 8 + VXLAN 8 + inner Ethernet 14 (1500 → 1450)
  vxlan: 50,
  // outer IPv4 20 (1500 → 1480)
  ipip: 20,
};

/** IPv4 requires links to carry 68-byte packets; smaller overlay MTUs cannot work. */
export const MIN_TUN_MTU = 68;

export function tunMtu(underlayMtu: number, backend: Backend): number {
  return underlayMtu - BACKEND_OVERHEAD[backend];
}
