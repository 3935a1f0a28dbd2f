/** The library version, recorded with every run and in the catalog. Kept equal to package.json's by a test. */
export const VERSION = '0.1.0';
