export { CacheStoreError, type CacheStoreErrorReason } from './cache-store-error';
export { createKeyvCacheStore, type KeyvCacheStore, type KeyvCacheStoreOptions } from './keyv-cache-store';
