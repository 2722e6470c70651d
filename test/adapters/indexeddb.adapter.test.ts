import 'fake-indexeddb/auto';
import { describeIndexedDbSpecifics } from '../browser/indexeddb-cases.js';

// The same cases run against real Chromium IndexedDB in test/browser/indexeddb.adapter.browser.test.ts.
describeIndexedDbSpecifics('fake-indexeddb');
