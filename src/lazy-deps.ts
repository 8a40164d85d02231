import { createRequire } from 'node:module';

/**
 * Client libraries of the optional services, loaded on first use. Imported at
 * the top of their drivers they were loaded by every gateway, and an embedded
 * one (no REDIS_URL, DATABASE_URL or BROKER_URL) held ~14 MB of resident
 * memory for code it never runs (bench:footprint). All are CommonJS, so
 * a synchronous require keeps the drivers' constructors synchronous.
 */
const require = createRequire(import.meta.url);

let ioredisModule: typeof import('ioredis') | undefined;
let pgModule: typeof import('pg') | undefined;
let amqplibModule: typeof import('amqplib') | undefined;
let pngjsModule: typeof import('pngjs') | undefined;

// Memoized: pg asks for a type parser per column of every result.
export const ioredis = (): typeof import('ioredis') => (ioredisModule ??= require('ioredis'));
export const pgClient = (): typeof import('pg') => (pgModule ??= require('pg'));
export const amqplib = (): typeof import('amqplib') => (amqplibModule ??= require('amqplib'));
/** The PNG encoder: the favicon (drawn on its first request) and seed photos when dist/ has none rendered. */
export const pngjs = (): typeof import('pngjs') => (pngjsModule ??= require('pngjs'));
