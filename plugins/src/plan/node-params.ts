/**
 * A node's params as the plan's estimators read them: already validated against the plugin's params
 * schema (defaults filled in, component slots built), so each estimator reads the fields its own
 * plugin's schema declares. The one place `any` stands in src: the schema, not TypeScript, fixes
 * the shape of this data.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- validated JSON shaped by the plugin's schema
export type NodeParams = Record<string, any>;
