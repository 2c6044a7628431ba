/** How full the micro-batches were: patches run over room offered (batches × batchSize). */
export class BatchFill {
  batches = 0;
  patches = 0;
  /** Batches that held patches of more than one frame. */
  mixed = 0;

  constructor(readonly batchSize: number) {}

  record(patches: number, frames: number): void {
    this.batches++;
    this.patches += patches;
    if (frames > 1) this.mixed++;
  }

  /** 0..1; 0 before the first batch. */
  get ratio(): number {
    return this.batches === 0 ? 0 : this.patches / (this.batches * this.batchSize);
  }
}
