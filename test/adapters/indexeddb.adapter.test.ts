import 'fake-indexeddb/auto';
import { describeIndexedDbSpecifics } from '../browser/indexeddb-cases.js';
import { describeIndexedDbLeases } from '../browser/indexeddb-lease-cases.js';

// The same cases run against real Chromium IndexedDB in test/browser/indexeddb.adapter.browser.test.ts.
describeIndexedDbSpecifics('fake-indexeddb');
describeIndexedDbLeases('fake-indexeddb');
