/** Placeholder until the console lands: no console routes. */
import type { FastifyInstance } from 'fastify';

export function registerConsole(_app: FastifyInstance): void {}
