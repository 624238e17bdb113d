/** One runtime import between two files under src/ (paths relative to src/, '.ts'). */
export interface ImportEdge {
  from: string;
  to: string;
  spec: string;
}
/** The layers, top first; folders on one row do not import each other. */
export const LAYERS: string[][];
export function runtimeSpecifiers(text: string, fileName?: string): string[];
export function folderOf(file: string): string;
export function importEdges(srcDir: string): ImportEdge[];
export function folderCycles(edges: readonly ImportEdge[]): string[][];
export function layerOf(folder: string, layers?: readonly (readonly string[])[]): number | undefined;
export function violations(edges: readonly ImportEdge[], layers?: readonly (readonly string[])[]): { up: ImportEdge[]; unnamed: string[] };
