/**
 * `mcp-orchestration/file`: the embedded file store for Node, one folder per store, safe for
 * several processes. See {@link createFileStore}.
 */
export { createFileStore, type FileStoreOptions } from './file/create-file-store.js';
