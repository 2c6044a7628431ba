import type { RgbImage } from './image';

/** The opencv.js module (~130 MB once initialised in a thread). */
export type OpenCv = typeof import('@techstark/opencv-js');

let ready: Promise<{ cv: OpenCv }> | undefined;

/**
 * OpenCV, initialised — required on the first call, so that only the threads that transform pay
 * for it (importing this file costs nothing). The module object is a thenable, so it is never
 * passed to `resolve()` (that would wait on it forever): the promise resolves to a box holding it.
 */
export function loadOpenCv(): Promise<{ cv: OpenCv }> {
  ready ??= new Promise((resolve) => {
    const cv = require('@techstark/opencv-js') as OpenCv;
    if (cv.Mat) resolve({ cv });
    else cv.onRuntimeInitialized = () => resolve({ cv });
  });
  return ready;
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
