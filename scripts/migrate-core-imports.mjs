// Rewrites the imports from @stowage/core (and @stowage/core/plugin, @stowage/core/testing) in the
// given files so that each name comes from the entry point that exports it (API 3's split by
// audience). Inside packages/core, imports of ../src/index.js and friends are split the same way.
// Usage: node scripts/migrate-core-imports.mjs <file.ts|file.mjs>... (after tsc -b, from the repo root)
import ts from 'typescript';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
const root = resolve(dirname(fileURLToPath(import.meta.url)), '../packages/core/src') + '/';
const entries = { '@stowage/core': root + 'index.ts', '@stowage/core/plugin': root + 'plugin.ts', '@stowage/core/testing': root + 'testing/index.ts' };
const program = ts.createProgram(Object.values(entries), { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022 });
const checker = program.getTypeChecker();
const owner = new Map();
for (const [spec, file] of Object.entries(entries)) {
  const sf = program.getSourceFile(file);
  for (const sym of checker.getExportsOfModule(checker.getSymbolAtLocation(sf))) {
    if (owner.has(sym.name)) console.error('DUP', sym.name, owner.get(sym.name), spec);
    owner.set(sym.name, spec);
  }
}
const files = process.argv.slice(2);
for (const f of files.map((x) => resolve(x))) {
  let text = readFileSync(f, 'utf8');
  const inCore = resolve(f).startsWith(resolve(root, '..') + '/');
  const specRe = inCore ? /from '((?:\.\.\/)+src\/(?:index|testing\/index|plugin)\.js|@stowage\/core(?:\/testing|\/plugin)?)'/ : /from '(@stowage\/core(?:\/testing|\/plugin)?)'/;
  const re = new RegExp(String.raw`^import (type )?\{([^}]*)\} ` + specRe.source + ';\\n', 'gm');
  let changed = false;
  text = text.replace(re, (all, typeKw, names, spec) => {
    const groups = new Map();
    for (let n of names.split(',').map((x) => x.trim()).filter(Boolean)) {
      const base = n.replace(/^type /, '').split(/ as /)[0].trim();
      const o = owner.get(base);
      if (!o) { console.error('UNKNOWN', f, base); return all; }
      let target = o;
      if (!spec.startsWith('@stowage')) {
        const srcDir = root;
        const file = { '@stowage/core': 'index.js', '@stowage/core/plugin': 'plugin.js', '@stowage/core/testing': 'testing/index.js' }[o];
        target = relative(dirname(f), srcDir + file); if (!target.startsWith('.')) target = './' + target;
      }
      if (!groups.has(target)) groups.set(target, []);
      groups.get(target).push(n);
    }
    const out = [...groups].map(([t, ns]) => {
      const allType = typeKw || false;
      const oneLine = `import ${allType ? 'type ' : ''}{ ${ns.join(', ')} } from '${t}';`;
      return oneLine.length <= 140 ? oneLine + '\n' : `import ${allType ? 'type ' : ''}{\n${ns.map((x) => '  ' + x + ',\n').join('')}} from '${t}';\n`;
    }).join('');
    if (out !== all) changed = true;
    return out;
  });
  if (changed) { writeFileSync(f, text); console.log('rewrote', f); }
}
