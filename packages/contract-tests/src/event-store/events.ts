import { type NewEvent, newId } from '@finaegis/core';
import type { EventStoreContractRunner } from './harness';

export function streamId(label: string): string {
  return `contract-${label}-${newId()}`;
}

export function newEvent(
  type: string,
  data: Record<string, unknown> = {},
  metadata: Record<string, unknown> = {},
): NewEvent {
  return { eventId: newId(), type, data, metadata, occurredAt: Date.now() };
}

export function expectIncreasing(expect: EventStoreContractRunner['expect'], positions: number[]): void {
  for (let index = 1; index < positions.length; index++) {
    expect(positions[index]!).toBeGreaterThan(positions[index - 1]!);
  }
}
