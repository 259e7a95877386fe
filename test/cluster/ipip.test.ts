// End-to-end: a 3-node felt cluster on the ipip backend (see suite.ts for what is checked).
import { describeClusterSuite } from './suite.js';

describeClusterSuite('ipip');
