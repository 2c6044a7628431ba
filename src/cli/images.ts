import type { PipelineConfig } from '../config';
import { IMAGES_SETTINGS } from '../correct/pageImage';
import { UsageError, type FlagSpec, type Flags } from './args';

/** The page-image flags of `run` and `demo`; `byDefault` is the format without `--images`. */
export function imageFlags(byDefault: string): FlagSpec[] {
  return [
    {
      name: 'images',
      kind: { choices: IMAGES_SETTINGS },
      value: `<${IMAGES_SETTINGS.join('|')}>`,
      help: `also publish each ok page's corrected full-resolution image under <volume-id>/pages/<attempt>/ (default ${byDefault}; same = the input's format)`,
    },
    { name: 'image-quality', kind: 'int', value: '<1-100>', help: 'JPEG/WebP quality of the page images (default 90)' },
  ];
}

/** The config settings the page-image flags ask for. */
export function imageSettings(f: Flags): Partial<Pick<PipelineConfig, 'images' | 'imageQuality'>> {
  const quality = f.int('image-quality');
  if (quality !== undefined && quality > 100) throw new UsageError(`--image-quality must be 1..100, got ${quality}`);
  return {
    ...(f.has('images') ? { images: f.string('images') as PipelineConfig['images'] } : {}),
    ...(quality !== undefined ? { imageQuality: quality } : {}),
  };
}
