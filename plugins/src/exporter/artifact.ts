/** What an exporter emits: the directory written, and which of the original layers it kept. */
export interface Artifact {
  /** The directory written (absolute). */
  dir: string;
  /** The original model's layer indices kept in the export, in order. */
  keptLayers: number[];
  /** Layers of the original model. */
  originalLayers: number;
}
