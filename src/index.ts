/** manymodels: train, store and score one model per group in PostgreSQL-family databases. */
export * from './core.js';
