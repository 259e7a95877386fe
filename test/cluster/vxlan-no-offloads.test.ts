// The whole end-to-end suite again on vxlan with `--offloads=false`: the plain loops (one packet per
// TUN read and write, no GSO/GRO) must pass everything the offload path passes.
import { describeClusterSuite } from './suite.js';

describeClusterSuite('vxlan', { flags: ['--offloads=false'], label: 'offloads off' });
