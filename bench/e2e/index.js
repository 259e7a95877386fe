/** Every end-to-end case, in the order they run and appear in the table. */
import bare from './bare.js';
import fastd from './fastd.js';
import { feltCase } from './felt.js';
import kernelVxlan from './kernel-vxlan.js';
import quicktun from './quicktun.js';
import tinc from './tinc.js';

export const CASES = [
  bare,
  kernelVxlan,
  quicktun,
  tinc,
  fastd,
  feltCase('udp'),
  feltCase('vxlan'),
  feltCase('vxlan', { workers: 2 }),
  feltCase('ipip'),
];
