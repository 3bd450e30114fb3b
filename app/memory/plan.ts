// CONTRACT (implementation owned by the memory-plan work): the pure derivation
// of memory-model.md. Throws ConfigError (exit 78) on an impossible plan.

/** Inputs in bytes / fractions; undefined = derive. */
export interface MemoryInputs {
  readonly processBytes: number | undefined;
  readonly heapBytes: number | undefined;
  readonly offHeapBytes: number | undefined;
  readonly networkBytes: number | undefined;
  readonly networkSegmentBytes: number;
  readonly overheadFraction: number;
  readonly overheadMinBytes: number;
  readonly overheadMaxBytes: number;
  readonly semiSpaceBytes: number | undefined;
  readonly cacheFraction: number;
}

export interface MemoryPlan {
  readonly processBytes: number;
  readonly overheadBytes: number;
  readonly offHeapBytes: number;
  readonly networkBytes: number;
  readonly networkSegmentBytes: number;
  readonly networkSegments: number;
  readonly heapBytes: number;
  readonly semiSpaceBytes: number;
  readonly youngGenerationBytes: number;
  readonly oldGenerationBytes: number;
  readonly cacheBytes: number;
  /** e.g. ['--max-old-space-size=409', '--max-semi-space-size=4'] */
  readonly nodeFlags: readonly string[];
  readonly warnings: readonly string[];
}
