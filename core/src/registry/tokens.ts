/** inversify service identifiers. Plugins bind manifests to the first two in ContainerModules. */
export const PLUGIN_MANIFEST = Symbol.for('e3.PluginManifest');
export const COMPONENT_MANIFEST = Symbol.for('e3.ComponentManifest');
/** A component's own validated params (bound in the component's child container). */
export const COMPONENT_PARAMS = Symbol.for('e3.ComponentParams');
export const RNG = Symbol.for('e3.Rng');
export const LOGGER = Symbol.for('e3.Logger');
export const PROGRESS = Symbol.for('e3.Progress');
export const ARTIFACTS = Symbol.for('e3.ArtifactStore');
export const CLOCK = Symbol.for('e3.Clock');
export const BACKEND = Symbol.for('e3.TensorBackend');
export const RUN_INFO = Symbol.for('e3.RunInfo');
/** Pre-flight checks (runtime/preflight.ts) that run after validation, before any node. */
export const PREFLIGHT = Symbol.for('e3.Preflight');
