import sharp from 'sharp';
import { renderSyntheticPage } from '../src/synth/pages';

describe('renderSyntheticPage', () => {
  it('is deterministic per seed and differs between seeds', async () => {
    const a = await renderSyntheticPage({ seed: 1, width: 400, height: 560, format: 'png' });
    const b = await renderSyntheticPage({ seed: 1, width: 400, height: 560, format: 'png' });
    const c = await renderSyntheticPage({ seed: 2, width: 400, height: 560, format: 'png' });
    expect(a.equals(b)).toBe(true);
    expect(a.equals(c)).toBe(false);
  });

  it('renders an A4 page at 150 dpi by default, as JPEG, with dark text on white', async () => {
    const page = await renderSyntheticPage({ seed: 3 });
    const { width, height, format } = await sharp(page).metadata();
    expect([width, height, format]).toEqual([1240, 1754, 'jpeg']);
    const { channels } = await sharp(page).stats();
    expect(channels[0].min).toBeLessThan(80);
    expect(channels[0].max).toBeGreaterThan(240);
  });

  it('turns the page by `rotate` (clockwise) after skewing it', async () => {
    const turned = await renderSyntheticPage({ seed: 4, width: 400, height: 560, rotate: 90 });
    expect(await sharp(turned).metadata()).toMatchObject({ width: 560, height: 400 });
    const skewed = await renderSyntheticPage({ seed: 4, width: 400, height: 560, skewDeg: 10 });
    const { width, height } = await sharp(skewed).metadata();
    // The bounding box of a 400×560 page turned by 10°.
    const a = (10 * Math.PI) / 180;
    expect(width).toBeCloseTo(400 * Math.cos(a) + 560 * Math.sin(a), -1);
    expect(height).toBeCloseTo(400 * Math.sin(a) + 560 * Math.cos(a), -1);
  });
});
