import { writeFileSync } from 'node:fs';
import { API_OPERATIONS } from './operations.js';
import { openApiDocument } from './docs.routes.js';

/**
 * Writes the OpenAPI document to the path given (`pnpm api:client` writes
 * `packages/client/openapi.json`, from which the client's types are generated).
 */
const out = process.argv[2];
if (!out) {
  console.error('usage: node openapi.write.js <file>');
  process.exit(2);
}
writeFileSync(out, `${JSON.stringify(openApiDocument(API_OPERATIONS), null, 2)}\n`);
console.log(`wrote ${out}`);
