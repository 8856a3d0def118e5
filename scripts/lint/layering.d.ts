import type { ESLint } from 'eslint';
/** The `layering` ESLint plugin (layering.js): rule `allowed-imports`. */
declare const layering: ESLint.Plugin;
export default layering;
