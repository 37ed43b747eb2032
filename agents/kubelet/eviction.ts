/**
 * The node pressure conditions of the kubelet's eviction manager (pkg/kubelet/eviction): the
 * `memory.available` signal — capacity minus the working set of what runs — against the hard threshold
 * `memory.available<100Mi`, and a condition that stays True for evictionPressureTransitionPeriod after
 * the threshold was last met. Pure: observations and `now` in, conditions out.
 *
 * kubelab's runtimes report container memory only, so DiskPressure and PIDPressure have no signal and
 * stay False (docs/fidelity.md).
 * @module
 */

/** The default hard eviction threshold for memory: `memory.available<100Mi`. */
export const MEMORY_AVAILABLE_THRESHOLD_BYTES = 100 * 1024 * 1024;

/** Which pressure conditions are True. */
export interface NodePressure {
  memory: boolean;
  disk: boolean;
  pid: boolean;
}

/** No pressure at all. */
export const NO_PRESSURE: NodePressure = Object.freeze({ memory: false, disk: false, pid: false });

/** When each threshold was last seen met (ms); kept between observations. */
export interface PressureMemory {
  memory?: number;
}

/** `memory.available`: the node's memory capacity minus the working set of its containers. */
export function memoryAvailable(capacityBytes: number, workingSetBytes: number): number {
  return capacityBytes - workingSetBytes;
}

/**
 * The pressure conditions at `now` (synchronize + nodeConditionsLastObservedAt): a threshold met now
 * records `now`; a condition is True while less than `transitionMs` has passed since its threshold was
 * last met. Without an observation the last one stands.
 */
export function nodePressure(
  observation: { memoryAvailableBytes?: number },
  last: PressureMemory,
  now: number,
  transitionMs: number,
): { pressure: NodePressure; last: PressureMemory } {
  const next: PressureMemory = { ...last };
  const available = observation.memoryAvailableBytes;
  if (available !== undefined && available < MEMORY_AVAILABLE_THRESHOLD_BYTES) next.memory = now;
  const memory = next.memory !== undefined && now - next.memory < transitionMs;
  return { pressure: { memory, disk: false, pid: false }, last: next };
}
