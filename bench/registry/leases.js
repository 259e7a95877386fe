// The synthetic cluster of the registry benchmark: lease i is 10.<hi>.<lo>.0/24 (10.0.0.0/24 skipped,
// as Flannel does), owned by a distinct 198.18.x.y, in the JSON a vxlan flanneld writes.
export const PREFIX = '/coreos.com/network';

export function leaseKey(i) {
  const n = i + 1;
  return `${PREFIX}/subnets/10.${(n >> 8) & 255}.${n & 255}.0-24`;
}

export function leaseValue(i) {
  const mac = (i & 0xffffff).toString(16).padStart(6, '0').match(/../g).join(':');
  const ip = `198.18.${(i >> 8) & 255}.${i & 255}`;
  return `{"PublicIP":"${ip}","PublicIPv6":null,"BackendType":"vxlan","BackendData":{"VNI":1,"VtepMAC":"0e:2a:00:${mac}"}}`;
}
