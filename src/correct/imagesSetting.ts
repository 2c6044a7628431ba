import type { EncodeOptions } from './applyCorrection';

/** The `images` setting: no images (`off`), one format for all, or each page in its input's format (`same`). */
export type ImagesSetting = 'off' | EncodeOptions['format'] | 'same';

/**
 * Every `images` setting. Apart from pageImage.ts (which loads sharp) so that the CLI's flag
 * definitions, read by `--help`, load no image code.
 */
export const IMAGES_SETTINGS: readonly ImagesSetting[] = ['off', 'jpeg', 'png', 'webp', 'tiff', 'same'];
