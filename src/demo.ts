/**
 * rxvolume/demo: what the demo and the tests use, kept out of the library's entry (`rxvolume`):
 * synthetic pages, a generated demo volume, and a local S3 server (s3rver, an optional
 * dependency, run in a child process).
 */
export { renderSyntheticPage, type PageSpec } from './synth/pages';
export { demoPages, writeDemoVolume, type DemoPage } from './demoVolume';
export { startLocalS3Server, s3ClientConfigFor, type LocalS3Server, type LocalS3ServerOptions, type LocalS3ClientConfig } from './s3/localS3Server';
