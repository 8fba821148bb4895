/**
 * Known people per gateway account: the directory in the store (config file, HTTP API, CSV
 * import, verification), normalized identifiers, and the cached look-up the worker asks once per
 * turn. Roles and what they allow live in the agent configuration (`@switchboard/agent`).
 * @see ../../../docs/people.md
 */
export * from './people.env.js';
export * from './person.schema.js';
export * from './directory.js';
export * from './csv.js';
export * from './lookup.js';
export * from './people-file.js';
