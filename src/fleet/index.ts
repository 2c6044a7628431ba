/** The multi-machine layer: volumes as BullMQ jobs on Redis, run by consumer processes (`rxvolume worker`). */
export { VOLUME_QUEUE, volumeJobId, openVolumeQueue, type VolumeJobData, type VolumeJobProgress, type ConfigOverrides, type FleetConnection } from './queue';
export { enqueueVolumes, type EnqueueOptions, type EnqueueResult } from './enqueue';
export { runFleetConsumer, type FleetConsumerOptions } from './consumer';
/** The fleet consumer's earlier names, kept for code written against them (README's "Running a fleet" showed them). */
export { runFleetConsumer as runFleetWorker, type FleetConsumerOptions as FleetWorkerOptions } from './consumer';
export { fleetStatus, type FleetStatus, type VolumeStatus } from './status';
export { listVolumeIds } from './listVolumes';
