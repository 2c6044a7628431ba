import cvModule = require('@techstark/opencv-js');
import type { RgbImage } from './image';

/** The opencv.js module (loaded once per thread, ~130 MB). */
export type OpenCv = typeof cvModule;

let ready: Promise<void> | undefined;

/**
 * OpenCV, initialised. The module object is a thenable, so it is never passed to `resolve()`
 * (that would wait on it forever): the promise resolves to a box holding it.
 */
export async function loadOpenCv(): Promise<{ cv: OpenCv }> {
  ready ??= cvModule.Mat ? Promise.resolve() : new Promise<void>((resolve) => (cvModule.onRuntimeInitialized = () => resolve()));
  await ready;
  return { cv: cvModule };
}

/** An 8-bit 3-channel Mat holding a copy of `image`; the caller deletes it. */
export function matFromRgb(cv: OpenCv, image: RgbImage): InstanceType<OpenCv['Mat']> {
  const mat = new cv.Mat(image.height, image.width, cv.CV_8UC3);
  mat.data.set(image.pixels.subarray(0, image.width * image.height * 3));
  return mat;
}

/** The pixels of an 8-bit 3-channel Mat copied into a JS-owned (transferable) image. */
export function rgbFromMat(mat: InstanceType<OpenCv['Mat']>): RgbImage {
  return { width: mat.cols, height: mat.rows, pixels: new Uint8Array(mat.data) };
}

/** The white fill for pixels mapped from outside the source. */
export function white(cv: OpenCv): InstanceType<OpenCv['Scalar']> {
  return new cv.Scalar(255, 255, 255, 255);
}
