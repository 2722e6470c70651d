import 'fake-indexeddb/auto';
import { indexedDbHarness } from '../browser/indexeddb-harness.js';
import { describeCheckpointStore } from '../conformance/checkpoint-store.conformance.js';

// The same suite runs against real Chromium IndexedDB in test/browser/indexeddb.browser.test.ts.
describeCheckpointStore('indexeddb (fake-indexeddb)', indexedDbHarness);
