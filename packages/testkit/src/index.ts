export * from './redis.js';
export * from './http-fake.js';
export * from './fake-graph.js';
export * from './whatsapp-signer.js';
export * from './fake-openai.js';
export * from './fixtures.js';
