/**
 * The flags more than one command takes, defined once, and the settings they ask for: `run`,
 * `demo`, `enqueue` and `worker` take them through the same parser. Only light modules are loaded
 * here, so `--help`, `--version` and argument errors load none of sharp, onnxruntime or the AWS SDK.
 */
import type { PipelineConfig } from '../config';
import { IMAGES_SETTINGS } from '../correct/imagesSetting';
import { locationProblem } from '../store/urls';
import { UsageError, type FlagSpec, type Flags } from './args';

/** `must be <what>` unless `raw` is a URL with one of `protocols` and a host. */
function urlProblem(raw: string, protocols: readonly string[], what: string): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return `must be ${what}`;
  }
  return protocols.includes(url.protocol) && url.hostname !== '' ? undefined : `must be ${what}`;
}

const redisProblem = (raw: string) => urlProblem(raw, ['redis:', 'rediss:'], 'a Redis URL: redis://host:port (rediss:// for TLS)');

/** `--input` / `--output`: an S3 prefix or a local directory. */
export function locationFlag(name: 'input' | 'output', help: string): FlagSpec {
  return { name, kind: 'string', value: '<s3://bucket/prefix/|dir>', help, required: true, check: locationProblem };
}

export const endpointFlag: FlagSpec = {
  name: 'endpoint',
  kind: 'string',
  value: '<url>',
  help: 'an S3-compatible endpoint (MinIO, s3rver, ...); path-style requests',
  check: (raw) => urlProblem(raw, ['http:', 'https:'], 'an http:// or https:// URL, e.g. http://127.0.0.1:9000'),
};

export const deviceFlag: FlagSpec = { name: 'device', kind: { choices: ['cpu', 'cuda', 'auto'] }, value: '<cpu|cuda|auto>', help: 'inference device (default cpu; auto = cuda when it loads)' };

export const modelFlagSpec: FlagSpec = { name: 'model', kind: 'string', value: '<path.onnx>', help: 'a text-probability ONNX model (default PP-OCRv4 detector; "tiny" = a tiny generated model, for testing)' };

export const jsonFlag: FlagSpec = { name: 'json', kind: 'bool', help: 'print the result as one JSON line (the last line of stdout), no progress' };

export const redisFlag: FlagSpec = { name: 'redis', kind: 'string', value: '<redis://host:port>', help: 'the Redis the queue lives in (default $REDIS_URL, else redis://127.0.0.1:6379)', check: redisProblem };

export const queueFlag: FlagSpec = { name: 'queue', kind: 'string', value: '<name>', help: 'queue name (default rxvolume-volumes)' };

/** The Redis URL: `--redis`, else `$REDIS_URL` (checked as the flag is), else the local default. */
export function redisUrlOf(f: Flags): string {
  const fromEnv = f.has('redis') ? undefined : process.env.REDIS_URL;
  const problem = fromEnv === undefined ? undefined : redisProblem(fromEnv);
  if (problem) throw new UsageError(`$REDIS_URL ${problem}, got "${fromEnv}" (or pass --redis)`);
  return f.string('redis') ?? fromEnv ?? 'redis://127.0.0.1:6379';
}

/** The page-image flags; `byDefault` is the format without `--images`. */
export function imageFlags(byDefault: string): FlagSpec[] {
  return [
    {
      name: 'images',
      kind: { choices: IMAGES_SETTINGS },
      value: `<${IMAGES_SETTINGS.join('|')}>`,
      help: `also publish each ok page's corrected full-resolution image under <volume-id>/pages/<attempt>/ (default ${byDefault}; same = the input's format)`,
    },
    { name: 'image-quality', kind: 'int', value: '<1-100>', help: 'JPEG/WebP quality of the page images (default 90)', check: (raw) => (Number(raw) > 100 ? 'must be 1..100' : undefined) },
  ];
}

/** What is published for a volume, the same for `run` and a fleet's `enqueue` and `worker`: pixel limit, empty volumes, page images. */
export const publishFlags: readonly FlagSpec[] = [
  { name: 'max-pixels', kind: 'int', value: '<n>', help: 'refuse images with more pixels than this (default 120000000)' },
  { name: 'allow-empty', kind: 'bool', help: 'publish an empty table when the input holds no page images (refused by default)' },
  ...imageFlags('off'),
];

/** The config settings `publishFlags` (and `imageFlags`) ask for: only those given. */
export function publishSettings(f: Flags): Partial<Pick<PipelineConfig, 'images' | 'imageQuality' | 'maxInputPixels' | 'allowEmpty'>> {
  return {
    ...(f.has('images') ? { images: f.string('images') as PipelineConfig['images'] } : {}),
    ...(f.has('image-quality') ? { imageQuality: f.int('image-quality') } : {}),
    ...(f.has('max-pixels') ? { maxInputPixels: f.int('max-pixels') } : {}),
    ...(f.bool('allow-empty') ? { allowEmpty: true } : {}),
  };
}
