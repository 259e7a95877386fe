// Test and benchmark helpers, exported as @felt/dataplane/testing: the hot-path functions and an
// in-memory pair of forwarders. Not part of the daemon-facing API.
export { decodeIpip, encodeIpip } from './codec/ipip.js';
export { decodeUdp, encodeUdp } from './codec/udp.js';
export { decodeVxlan, encodeVxlan } from './codec/vxlan.js';
export { Counters, countersByteLength } from './counters.js';
export { ForwarderState } from './forwarder-state.js';
export { BufferPool } from './pool.js';
export { decapsulatePacket } from './receive.js';
export { RouteTableReader, routeTableLayout } from './route-table.js';
export { RouteTableWriter } from './route-table-writer.js';
export { encapsulatePacket } from './send.js';
export {
  createForwarderFixture,
  type FixtureNode,
  type FixtureOptions,
  type ForwarderFixture,
  type PacketSpec,
  writeIpv4Packet,
} from './testing/forwarder-fixture.js';
