// static (non-type) import graph from an entry .ts, printing which external packages are reached and via which chain
import { readFileSync, existsSync } from 'node:fs';
import { dirname, resolve, relative } from 'node:path';
const entry = resolve(process.argv[2]);
const seen = new Map(); // file -> parent
const ext = new Map(); // pkg -> chain file
const q = [entry]; seen.set(entry, null);
while (q.length) {
  const f = q.shift();
  const src = readFileSync(f, 'utf8');
  const re = /^\s*(?:import|export)\s+(?!type\b)([^'";]*?\s+from\s+)?['"]([^'"]+)['"]/gm;
  let m;
  while ((m = re.exec(src))) {
    const spec = m[2];
    if (m[1] && /^\s*\{[^}]*\}\s+from/.test(m[1]) && /^\{\s*(type\s+\w+\s*,?\s*)+\}/.test(m[1].trim().replace(/\s+from\s*$/, ''))) continue; // all type-only names
    if (spec.startsWith('.')) {
      const t = resolve(dirname(f), spec.replace(/\.js$/, '.ts'));
      if (!existsSync(t)) continue;
      if (!seen.has(t)) { seen.set(t, f); q.push(t); }
    } else if (!spec.startsWith('node:')) {
      if (!ext.has(spec)) ext.set(spec, f);
    }
  }
}
const chain = (f) => { const c = []; while (f) { c.unshift(relative(process.cwd(), f)); f = seen.get(f); } return c.join(' <- ').split(' <- ').reverse().join(' <- '); };
for (const [p, f] of ext) console.log(p.padEnd(45), chain(f));
console.log('files', seen.size);
