export { CacheStoreError, type CacheStoreErrorReason } from './cache-store-error';
export { createKeyvCacheStore, type KeyvCacheStore, type KeyvCacheStoreOptions } from './keyv-cache-store';
export { keyvDriver } from './keyv-driver';
