import { describeCheckpointStore } from '../conformance/checkpoint-store.conformance.js';
import { indexedDbHarness } from './indexeddb-harness.js';

// Real IndexedDB in headless Chromium; the Node twin is test/adapters/indexeddb.test.ts.
describeCheckpointStore('indexeddb (Chromium)', indexedDbHarness);
