export {
  type ComposedAdapters,
  type ComposedCqrs,
  type ComposeOptions,
  composeCqrs,
  composeTransport,
} from './compose';
export type { Driver, DriverContext, Persistence, Relay } from './driver';
export { DriverNotInstalledError } from './driver-not-installed-error';
export type { AppHealth, ComponentHealth, ComponentName } from './health';
export {
  ADAPTER_ENV,
  type AdapterSettings,
  type AdapterSettingsInput,
  type BullmqAdapterSettings,
  type CacheAdapterSettings,
  defaultAdapterSettings,
  type EnvSetting,
  type EnvValueKind,
  KAFKA_SASL_MECHANISMS,
  type KafkaAdapterSettings,
  type PostgresAdapterSettings,
} from './settings';
export {
  type ShutdownOptions,
  type ShutdownReport,
  type ShutdownStep,
  type ShutsDown,
  type SignalOptions,
  shutdownOnSignals,
} from './shutdown';
