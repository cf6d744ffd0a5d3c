import { readFileSync } from 'node:fs';
const g = (k) => Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(readFileSync('/proc/self/status', 'utf8'))[1]) / 1024;
for (const a of process.argv.slice(2)) await import(a);
await new Promise((r) => setTimeout(r, 500));
globalThis.gc(); globalThis.gc();
const m = process.memoryUsage();
console.log(`${process.argv.slice(2).join(' ').padEnd(50)} rss ${g('VmRSS').toFixed(1)} anon ${g('RssAnon').toFixed(1)} file ${g('RssFile').toFixed(1)} heapT ${(m.heapTotal/1048576).toFixed(1)} heapU ${(m.heapUsed/1048576).toFixed(1)} ext ${(m.external/1048576).toFixed(1)} ab ${(m.arrayBuffers/1048576).toFixed(1)}`);
