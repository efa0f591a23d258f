/** The gate's version, recorded in every submission. A test keeps it equal to package.json. */
export const VERSION = '0.1.0';
