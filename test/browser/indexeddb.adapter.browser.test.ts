import { describeIndexedDbSpecifics } from './indexeddb-cases.js';
import { describeIndexedDbLeases } from './indexeddb-lease-cases.js';

// Real IndexedDB in headless Chromium; the Node twin is test/adapters/indexeddb.adapter.test.ts.
describeIndexedDbSpecifics('Chromium');
describeIndexedDbLeases('Chromium');
