import type { JsonSchemaObject } from '../config.schema.js';

/** Whether a value has a JSON-schema `type`. */
function hasType(value: unknown, type: unknown): boolean {
  switch (type) {
    case 'string':
      return typeof value === 'string';
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value);
    case 'boolean':
      return typeof value === 'boolean';
    case 'array':
      return Array.isArray(value);
    case 'object':
      return typeof value === 'object' && value !== null && !Array.isArray(value);
    case 'null':
      return value === null;
    default:
      return true; // untyped or unsupported keyword: accept
  }
}

/**
 * Checks tool arguments against the subset of JSON schema that tool definitions use
 * (required, property type, enum). Returns the problems, worded for the model to fix its call.
 */
export function checkArgs(schema: JsonSchemaObject, args: Record<string, unknown>): string[] {
  const problems: string[] = [];
  for (const name of schema.required ?? []) {
    if (args[name] === undefined || args[name] === null) problems.push(`missing required argument "${name}"`);
  }
  for (const [name, value] of Object.entries(args)) {
    const prop = schema.properties[name];
    if (!prop || value === undefined) continue;
    const types = Array.isArray(prop.type) ? (prop.type as unknown[]) : [prop.type];
    if (prop.type !== undefined && !types.some((t) => hasType(value, t))) {
      problems.push(`argument "${name}" must be of type ${types.join(' or ')}`);
    }
    if (Array.isArray(prop.enum) && !prop.enum.includes(value)) {
      problems.push(`argument "${name}" must be one of ${prop.enum.map((v) => JSON.stringify(v)).join(', ')}`);
    }
  }
  return problems;
}
