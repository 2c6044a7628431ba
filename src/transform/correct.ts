import type { TextLine, TransformPlan } from '../types';
import { RgbImage } from './image';
import { RotateBackend, defaultRotateBackend, isIdentityRotation, planRotation, rotateImage, rotateTextLines } from './rotate';
import { dewarpImage, planDewarp } from './tps';

/**
 * Applies a page's correction plan: the rotation first (onto a canvas whose longest side is at
 * most `maxSide`), then, if the plan says so, the dewarp fitted to the text lines carried through
 * that rotation. `lines` are in the coordinates of `image`.
 */
export async function correctPage(
  image: RgbImage,
  plan: TransformPlan,
  lines: readonly TextLine[],
  maxSide: number,
  backend: RotateBackend = defaultRotateBackend,
): Promise<RgbImage> {
  const rotation = planRotation(image.width, image.height, plan.rotateDeg, maxSide);
  const unchanged = isIdentityRotation(rotation, image.width, image.height);
  const rotated = unchanged ? image : await rotateImage(image, rotation, backend);
  if (!plan.dewarp) return rotated;
  const dewarp = planDewarp(unchanged ? lines : rotateTextLines(rotation, lines), rotated.width, rotated.height);
  return dewarpImage(rotated, dewarp);
}
