/**
 * Headless Debian `chromium` driven by playwright-core (issue 17): no browser download, a fresh
 * profile per launch (playwright's own temporary one), fake media devices (optionally a WAV as the microphone), and screenshots kept
 * as test artifacts under test-output/ (never compared, only kept for people to look at).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Where tests keep screenshots (relative to the repository; ignored by git). */
export const ARTIFACTS_DIR = join(process.cwd(), 'test-output', 'screenshots');

export interface ChromiumOptions {
  /** A WAV file the fake microphone plays (else Chromium's beep). */
  fakeAudioWav?: string;
  /** Extra command-line flags. */
  args?: readonly string[];
}

export interface RunningChromium {
  browser: Browser;
  /** A new context (its own cookies and storage) with one page. */
  newPage(options?: { grantMedia?: boolean }): Promise<{ context: BrowserContext; page: Page }>;
  close(): Promise<void>;
}

export async function launchChromium(options: ChromiumOptions = {}): Promise<RunningChromium> {
  const args = [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-dev-shm-usage',
    '--use-fake-ui-for-media-stream',
    '--use-fake-device-for-media-stream',
    '--autoplay-policy=no-user-gesture-required',
    ...(options.fakeAudioWav === undefined ? [] : [`--use-file-for-fake-audio-capture=${options.fakeAudioWav}`]),
    ...(options.args ?? []),
  ];
  const browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args, timeout: 30_000 });
  return {
    browser,
    async newPage(o = {}) {
      const context = await browser.newContext(o.grantMedia === true ? { permissions: ['microphone', 'camera'] } : {});
      const page = await context.newPage();
      return { context, page };
    },
    async close() {
      await browser.close().catch(() => {});
    },
  };
}

/** Saves a full-page screenshot as `<ARTIFACTS_DIR>/<name>.png` and returns its path. */
export async function keepScreenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  const path = join(ARTIFACTS_DIR, `${name.replace(/[^A-Za-z0-9_.-]+/g, '-')}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}
