import type { Segloss } from "../../src/index";
/** [name, numbers, or "error CODE"] per vector. */
export type VectorResult = [string, number[] | string];
export declare function runVectors(seg: Segloss): VectorResult[];
