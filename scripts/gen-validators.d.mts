/** One schema of policies/schema/: its validator's name, its file, and the type of a whole file. */
export interface SchemaEntry {
  readonly name: string;
  readonly file: string;
  readonly type: string;
}
/** A schema entry with its parsed JSON Schema. */
export interface LoadedSchema extends SchemaEntry {
  readonly schema: Record<string, unknown>;
}
export declare const SCHEMAS: readonly SchemaEntry[];
/** The schemas, parsed, in SCHEMAS order. */
export declare function loadSchemas(): LoadedSchema[];
/** The standalone validators (validators.js). */
export declare function generate(schemas?: readonly LoadedSchema[]): string;
/** The declarations of validators.js (validators.d.ts). */
export declare function generateDeclarations(schemas?: readonly LoadedSchema[]): string;
/** The policy types (types.ts). */
export declare function generateTypes(schemas?: readonly LoadedSchema[]): string;
/** Every generated file, by name in engine/policy/generated/. */
export declare function outputs(): Record<string, string>;
/** The generated files in `dir` (default engine/policy/generated/) that differ from what the schemas give. */
export declare function outdated(dir?: string): string[];
