/** The multi-machine layer: volumes as BullMQ jobs on Redis, run by worker processes. */
export { VOLUME_QUEUE, volumeJobId, openVolumeQueue, type VolumeJobData, type VolumeJobProgress, type ConfigOverrides, type FleetConnection } from './queue';
export { enqueueVolumes, type EnqueueOptions, type EnqueueResult } from './enqueue';
export { runFleetWorker, type FleetWorkerOptions } from './fleetWorker';
export { fleetStatus, type FleetStatus, type VolumeStatus } from './status';
export { listVolumeIds } from './listVolumes';
