import type { Observable } from 'rxjs';
import type { PageResult } from '../stages/transformController';
import type { Location } from '../store';
import type { ReportPage } from './html';
import { figureOf } from './thumbnails';

/** The counter-clockwise rotation a page's kept correction applied (0 when none was kept). */
export function appliedRotation(page: PageResult): number {
  return page.applied?.rotateDeg ?? 0;
}

/** What the collector keeps of a page. */
interface Kept {
  record: PageResult['record'];
  rotateDeg: number;
  whole?: PageResult;
}

/** Pages of a report with thumbnails by default: the first 500 in listing order (≈ 27 KB of HTML each). */
export const REPORT_THUMBNAIL_PAGES = 500;

/**
 * Collects a volume's pages (from `VolumeWorker.pages$`) while it runs; `pages()` then reads each
 * original from the input location again and makes the before/after thumbnails. Only the first
 * `thumbnailPages` pages in listing order get thumbnails, and only theirs are kept whole (with
 * their text lines); every other page keeps its row, so a long volume's report holds at most
 * ≈ 14 MB of thumbnails and the collector keeps a row a page beyond them.
 */
export class ReportCollector {
  /** Each page's row and applied rotation; `whole` (its summaries too) for the pages that get thumbnails. */
  private readonly results: Kept[] = [];
  private readonly thumbnailPages: number;

  constructor(pages$: Observable<PageResult>, opts: { thumbnailPages?: number } = {}) {
    this.thumbnailPages = opts.thumbnailPages ?? REPORT_THUMBNAIL_PAGES;
    pages$.subscribe((page) =>
      this.results.push({ record: page.record, rotateDeg: appliedRotation(page), whole: page.record.seq < this.thumbnailPages ? page : undefined }),
    );
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

  private async page({ record, rotateDeg, whole }: Kept, input: Location, output?: Location): Promise<ReportPage> {
    if (!whole) return record.status === 'error' ? { record, rotateDeg } : { record, rotateDeg, thumbnailError: `the report draws thumbnails for the first ${this.thumbnailPages} pages` };
    const { first, final } = whole;
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
