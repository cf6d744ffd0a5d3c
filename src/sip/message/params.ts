import type { Param } from './sip-message.js';

/** Lowercases ASCII only when needed (parameter names are mostly lowercase already). */
function eqIgnoreCase(a: string, b: string): boolean {
  return a.length === b.length && (a === b || a.toLowerCase() === b.toLowerCase());
}

/** Value of parameter `name` (case-insensitive): '' for a flag parameter (`;lr`), undefined when absent. */
export function paramValue(params: readonly Param[], name: string): string | undefined {
  for (const p of params) if (eqIgnoreCase(p.name, name)) return p.value ?? '';
  return undefined;
}

export function hasParam(params: readonly Param[], name: string): boolean {
  for (const p of params) if (eqIgnoreCase(p.name, name)) return true;
  return false;
}

/** Replaces the value of the first parameter `name` (removing later duplicates) or appends it. */
export function setParam(params: Param[], name: string, value: string | undefined): void {
  let found = false;
  for (let i = 0; i < params.length; i++) {
    const p = params[i]!;
    if (!eqIgnoreCase(p.name, name)) continue;
    if (!found) {
      params[i] = { name: p.name, value };
      found = true;
    } else {
      params.splice(i--, 1);
    }
  }
  if (!found) params.push({ name, value });
}

/** Removes every parameter `name` (case-insensitive). */
export function removeParam(params: Param[], name: string): void {
  for (let i = params.length - 1; i >= 0; i--) if (eqIgnoreCase(params[i]!.name, name)) params.splice(i, 1);
}

/** `;name=value;flag` as written in a header or URI. */
export function formatParams(params: readonly Param[]): string {
  let s = '';
  for (const p of params) s += p.value === undefined ? `;${p.name}` : `;${p.name}=${p.value}`;
  return s;
}
