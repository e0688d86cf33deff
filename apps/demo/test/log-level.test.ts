import { ConfigError, type Logger } from '@finaegis/core';
import { describe, expect, it } from 'vitest';
import { createExchangeApp } from '../src/app';
import { demoConfigFromEnv } from '../src/config/domain';

const levelOf = (env: Record<string, string>) => demoConfigFromEnv(env).domain.logLevel;

describe("the demo's log level", () => {
  it('is LOG_LEVEL, else DOMAIN_LOG_LEVEL, else warn', () => {
    expect(levelOf({})).toBe('warn');
    expect(levelOf({ DOMAIN_LOG_LEVEL: 'info' })).toBe('info');
    expect(levelOf({ LOG_LEVEL: 'debug' })).toBe('debug');
    expect(levelOf({ LOG_LEVEL: 'error', DOMAIN_LOG_LEVEL: 'info' })).toBe('error');
    expect(levelOf({ LOG_LEVEL: ' ', DOMAIN_LOG_LEVEL: 'OFF' })).toBe('off');
  });

  it('refuses a bad value naming the variable it came from', () => {
    expect(() => demoConfigFromEnv({ LOG_LEVEL: 'loud' })).toThrow(ConfigError);
    expect(() => demoConfigFromEnv({ LOG_LEVEL: 'loud' })).toThrow(/LOG_LEVEL="loud": expected one of debug/);
    expect(() => demoConfigFromEnv({ DOMAIN_LOG_LEVEL: 'loud' })).toThrow(/DOMAIN_LOG_LEVEL="loud"/);
  });

  it.each([
    ['info', 9],
    ['warn', 0],
  ])("writes the guide's line once per command at %s (%i seeding deposits)", async (level, lines) => {
    const written: string[] = [];
    const capture: Logger = {
      debug() {},
      info: (message) => written.push(message),
      warn() {},
      error() {},
    };
    const app = await createExchangeApp(demoConfigFromEnv({ LOG_LEVEL: level }), { logger: capture });
    try {
      await app.seed();
    } finally {
      await app.close();
    }
    expect(written.filter((message) => message === 'Command dispatched')).toHaveLength(lines);
  });
});
