/**
 * What every benchmark writes: its raw data as JSON in bench/results/ and its own section of
 * BENCHMARKS.md (between its markers, everything else left alone).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { replaceMarkedSection } from './marked-section.js';

/** `<name>-YYYY-MM-DD.json` for a run started at `startedAt` (an ISO date, UTC). */
export function resultFileName(name: string, startedAt: string): string {
  return `${name}-${startedAt.slice(0, 10)}.json`;
}

/** Writes `data` as indented JSON to `root`/`relPath`, making its folders. */
export function writeJsonFile(root: string, relPath: string, data: unknown): void {
  const path = join(root, relPath);
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, `${JSON.stringify(data, null, 2)}\n`);
}

/** Puts `section` between the markers in `root`/BENCHMARKS.md (appended when absent; the file made when missing). */
export function writeBenchmarksSection(root: string, startMarker: string, endMarker: string, section: string): void {
  const md = join(root, 'BENCHMARKS.md');
  const old = existsSync(md) ? readFileSync(md, 'utf8') : '# Benchmarks\n';
  writeFileSync(md, replaceMarkedSection(old, startMarker, endMarker, section));
}

/** What {@link publishBenchResult} prints and writes for one run. */
export interface BenchPublication {
  /** The benchmark's name: the result file's prefix and the words of the closing line. */
  name: string;
  /** ISO time the run started (dates the result file). */
  startedAt: string;
  /** The raw data, written as JSON. */
  report: unknown;
  /** The BENCHMARKS.md section, given the result file's path. */
  render: (file: string) => string;
  markers: { start: string; end: string };
  /** false: print only (`--no-write`). */
  write: boolean;
}

/** Prints the section, then writes the JSON and the section (unless `write` is false) from `root`. */
export function publishBenchResult(root: string, p: BenchPublication): void {
  const file = `bench/results/${resultFileName(p.name, p.startedAt)}`;
  const section = p.render(file);
  process.stdout.write(`\n${section}\n`);
  if (!p.write) return;
  writeJsonFile(root, file, p.report);
  writeBenchmarksSection(root, p.markers.start, p.markers.end, section);
  process.stdout.write(`\nwrote ${file} and the ${p.name} section of BENCHMARKS.md\n`);
}
