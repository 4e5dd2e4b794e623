export { compileTemplate } from './expressions/compile.ts';
