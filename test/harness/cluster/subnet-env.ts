// Reads the subnet.env feltd writes (Flannel's format: FLANNEL_NETWORK, FLANNEL_SUBNET, FLANNEL_MTU,
// FLANNEL_IPMASQ) into the addresses the harness plumbs pods with.

export interface NodeSubnet {
  /** The whole overlay, e.g. 10.244.0.0/16. */
  network: string;
  /** The node's lease, e.g. 10.244.7.0/24. */
  subnet: string;
  /** First three octets of the lease, e.g. '10.244.7' (the harness only uses /24 leases). */
  prefix: string;
  /** cni0's address, i.e. FLANNEL_SUBNET without its length: '10.244.7.1'. */
  gateway: string;
  /** The tunnel address: the lease's network address '10.244.7.0'. */
  tunnelAddress: string;
  mtu: number;
  ipMasq: boolean;
}

export function parseSubnetEnv(text: string): NodeSubnet {
  const vars = new Map<string, string>();
  for (const line of text.split('\n')) {
    const eq = line.indexOf('=');
    if (eq > 0) vars.set(line.slice(0, eq).trim(), line.slice(eq + 1).trim());
  }
  const required = (key: string): string => {
    const value = vars.get(key);
    if (value === undefined) throw new Error(`subnet.env: ${key} missing in:\n${text}`);
    return value;
  };
  const [gateway, length] = required('FLANNEL_SUBNET').split('/');
  if (length !== '24')
    throw new Error(`subnet.env: the harness expects /24 leases, got ${gateway}/${length}`);
  const prefix = gateway.split('.').slice(0, 3).join('.');
  return {
    network: required('FLANNEL_NETWORK'),
    subnet: `${prefix}.0/24`,
    prefix,
    gateway,
    tunnelAddress: `${prefix}.0`,
    mtu: Number(required('FLANNEL_MTU')),
    ipMasq: required('FLANNEL_IPMASQ') === 'true',
  };
}
