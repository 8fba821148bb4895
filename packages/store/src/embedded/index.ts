export { startEmbeddedStore, readEmbeddedStoreLock, type EmbeddedStore, type EmbeddedStoreLock, type EmbeddedStoreOptions } from './server.js';
export { SharedSession, type Backend, type SharedSessionOptions } from './shared-session.js';
export { FrontendFramer, type FrontendMessage } from './wire.js';
