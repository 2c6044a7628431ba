/** rxvolume: everything — the generic operators plus the volume pipeline's domain parts. */
export * from '../operators';
export * from './types';
export * from './config';
