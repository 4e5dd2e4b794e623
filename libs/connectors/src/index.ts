export { loadConnectorRegistry, createRegistry } from './registry.ts';
