// Exact float64 sums (Shewchuk's partials, the algorithm of Python's
// math.fsum): the rounded result depends only on the set of values added, not
// on their order, so any split of the images over workers or shards gives the
// same mean to the last bit.

export interface ExactSumState {
  /** Non-overlapping partials whose exact sum is the running total. */
  partials: number[];
  /** Sum of the ±Infinity values (kept apart so the partials stay finite), as a string so JSON keeps it: "0", "Infinity", "NaN"… */
  special: string;
}

export class ExactSum {
  private partials: number[] = [];
  private special = 0;

  add(x: number): this {
    if (!Number.isFinite(x)) {
      this.special += x;
      return this;
    }
    const p = this.partials;
    let i = 0;
    for (let j = 0; j < p.length; j++) {
      let y = p[j];
      if (Math.abs(x) < Math.abs(y)) [x, y] = [y, x];
      const hi = x + y;
      const lo = y - (hi - x);
      if (lo !== 0) p[i++] = lo;
      x = hi;
    }
    p.length = i;
    p.push(x);
    return this;
  }

  merge(other: ExactSumState): this {
    for (const v of other.partials) this.add(v);
    const special = Number(other.special);
    if (special !== 0) this.special += special;
    return this;
  }

  /** The correctly rounded sum. */
  value(): number {
    if (this.special !== 0 || Number.isNaN(this.special)) return this.special;
    const p = this.partials;
    let n = p.length;
    if (n === 0) return 0;
    let hi = p[--n];
    let lo = 0;
    while (n > 0) {
      const x = hi;
      const y = p[--n];
      hi = x + y;
      lo = y - (hi - x);
      if (lo !== 0) break;
    }
    // half-way case: round to nearest even needs the sign of the rest
    if (n > 0 && ((lo < 0 && p[n - 1] < 0) || (lo > 0 && p[n - 1] > 0))) {
      const y = lo * 2;
      const x = hi + y;
      if (y === x - hi) hi = x;
    }
    return hi;
  }

  /**
   * The sum as a canonical expansion: the rounded sum, then the rounded rest,
   * and so on. It depends only on the exact total, so reports of the same
   * images are identical whatever order the images were added in.
   */
  state(): ExactSumState {
    const rest = new ExactSum();
    rest.partials = [...this.partials];
    const terms: number[] = [];
    for (let v = rest.value(); v !== 0; v = rest.value()) {
      terms.push(v);
      rest.add(-v);
    }
    return { partials: terms.reverse(), special: String(this.special) };
  }
}
