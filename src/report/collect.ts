import type { Observable } from 'rxjs';
import type { PageResult } from '../stages/transformController';
import type { Location } from '../store';
import type { ReportPage } from './html';
import { figureOf } from './thumbnails';

/** The counter-clockwise rotation a page's kept correction applied (0 when none was kept). */
export function appliedRotation(page: PageResult): number {
  return page.applied?.rotateDeg ?? 0;
}

/**
 * Collects a volume's pages (from `VolumeWorker.pages$`) while it runs; `pages()` then reads each
 * original from the input location again and makes the before/after thumbnails.
 */
export class ReportCollector {
  private readonly results: PageResult[] = [];

  constructor(pages$: Observable<PageResult>) {
    pages$.subscribe((page) => this.results.push(page));
  }

  /**
   * The collected pages in `seq` order, with thumbnails. "After" is made from the published page
   * image (`image_key`, read from `output`) when the run published images, so a dewarp shows;
   * otherwise from the original turned by the applied rotation. A page whose original or image
   * cannot be read keeps its row and says why.
   */
  async pages(input: Location, output?: Location): Promise<ReportPage[]> {
    const sorted = [...this.results].sort((a, b) => a.record.seq - b.record.seq);
    const pages: ReportPage[] = [];
    for (const result of sorted) pages.push(await this.page(result, input, output));
    return pages;
  }

  private async page(result: PageResult, input: Location, output?: Location): Promise<ReportPage> {
    const rotateDeg = appliedRotation(result);
    const { first, final, record } = result;
    if (record.status === 'error' || !first || !final) return { record, rotateDeg };
    try {
      const { bytes } = await input.get(record.key);
      const before = await figureOf(bytes, 0, first);
      if (record.image_key && output) {
        const published = await output.get(record.image_key);
        return { record, rotateDeg, before, after: await figureOf(published.bytes, 0, final), afterFromImage: true };
      }
      return { record, rotateDeg, before, after: await figureOf(bytes, rotateDeg, final) };
    } catch (err) {
      return { record, rotateDeg, thumbnailError: (err as Error).message };
    }
  }
}
