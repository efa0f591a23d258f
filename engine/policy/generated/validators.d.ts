/** Standalone JSON Schema validators generated from policies/schema by scripts/gen-validators.mjs. */
type Validator = ((data: unknown) => boolean) & { errors?: { instancePath: string; message?: string; params?: Record<string, unknown> }[] | null };
export declare const rules: Validator;
export declare const whitelist: Validator;
export declare const gate: Validator;
export declare const tests: Validator;
