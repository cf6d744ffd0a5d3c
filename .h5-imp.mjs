// measure RSS after importing modules given as args (each cumulative)
const rows = [];
const snap = (label) => {
  globalThis.gc?.(); globalThis.gc?.();
  const m = process.memoryUsage();
  const st = require_fs.readFileSync('/proc/self/status', 'utf8');
  const g = (k) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(st)[1]) / 1024;
  rows.push(`${label.padEnd(40)} rss ${g('VmRSS').toFixed(1)} anon ${g('RssAnon').toFixed(1)} file ${g('RssFile').toFixed(1)} heapT ${(m.heapTotal/1048576).toFixed(1)} heapU ${(m.heapUsed/1048576).toFixed(1)} ext ${(m.external/1048576).toFixed(1)} ab ${(m.arrayBuffers/1048576).toFixed(1)}`);
};
const require_fs = await import('node:fs');
snap('start');
for (const a of process.argv.slice(2)) {
  await import(a);
  snap(a);
}
console.log(rows.join('\n'));
