/** What an exporter emits: the directory written, and which of the original layers it kept. */
export interface Artifact {
  dir: string;
  keptLayers: number[];
  originalLayers: number;
}
