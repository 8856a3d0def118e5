/**
 * ESLint rule `layering/allowed-imports`: which room may import which, as an allow-list (VS Code's
 * "code-layering" rule is the model). Every file belongs to the room named by its top-level folder;
 * a relative import that lands in another room must be on that room's list, and so must every
 * package (`node:*`, `electron`, npm names) a room imports. Lists live in eslint.config.js.
 *
 * Options: { rooms: { [room]: { rooms: string[], packages: string[] } } } where a package entry is
 * an exact name, a prefix ending in `*` (`@tensorflow/*`, `node:*`), or `*` for any package.
 */
import { dirname, relative, resolve, sep } from 'node:path';

const ROOT = resolve(dirname(new URL(import.meta.url).pathname), '../..');

function roomOf(file) {
  const rel = relative(ROOT, file);
  if (rel.startsWith('..')) return null;
  return rel.split(sep)[0];
}

function packageName(spec) {
  if (spec.startsWith('node:')) return spec;
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

function allowedPackage(list, name) {
  return list.some((p) => p === '*' || p === name || (p.endsWith('*') && name.startsWith(p.slice(0, -1))));
}

export default {
  rules: {
    'allowed-imports': {
      meta: { type: 'problem', schema: [{ type: 'object' }], messages: { room: '{{from}}/ may not import {{to}}/ (allowed: {{allowed}})', pkg: "{{from}}/ may not import the package '{{name}}' (allowed: {{allowed}})" } },
      create(context) {
        const rooms = context.options[0]?.rooms ?? {};
        const file = context.filename;
        const from = roomOf(file);
        const rule = from && rooms[from];
        if (!rule) return {};
        const check = (node, spec) => {
          if (typeof spec !== 'string') return;
          if (spec.startsWith('.')) {
            const to = roomOf(resolve(dirname(file), spec));
            if (!to || to === from || rule.rooms.includes(to)) return;
            context.report({ node, messageId: 'room', data: { from, to, allowed: rule.rooms.join(', ') || 'nothing of the project' } });
          } else {
            const name = packageName(spec);
            if (allowedPackage(rule.packages, name)) return;
            context.report({ node, messageId: 'pkg', data: { from, name, allowed: rule.packages.join(', ') || 'none' } });
          }
        };
        return {
          ImportDeclaration: (node) => check(node, node.source.value),
          ExportNamedDeclaration: (node) => node.source && check(node, node.source.value),
          ExportAllDeclaration: (node) => check(node, node.source.value),
          ImportExpression: (node) => node.source.type === 'Literal' && check(node, node.source.value),
        };
      },
    },
  },
};
