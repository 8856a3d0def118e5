/** The presets shipped with the workbench, by name (`ablate run quick`, the UI's preset list). */
import { quick } from './quick';
import { table3Mini } from './table3-mini';
import { table3Multi30k } from './table3-multi30k';
import { table3Multi30kCpu } from './table3-multi30k-cpu';

export interface Preset {
  readonly name: string;
  readonly description: string;
  /** The spec as YAML text (what the spec editor shows and `ablate run NAME` parses). */
  readonly yaml: string;
}

export const PRESETS: readonly Preset[] = [quick, table3Mini, table3Multi30k, table3Multi30kCpu];

export function findPreset(name: string): Preset | undefined {
  return PRESETS.find((p) => p.name === name);
}
