/**
 * Argument checks shared by the metrics. They run once per call, before the numeric loops, and
 * throw `RangeError` because a bad argument here is a programming error of the caller, not bad
 * input data or configuration.
 */
export function checkScoresAndLabels(scores: ArrayLike<number>, labels: ArrayLike<number>): void {
  if (scores.length !== labels.length) {
    throw new RangeError(`scores and labels differ in length (${scores.length} vs ${labels.length})`);
  }
  for (let i = 0; i < scores.length; i++) {
    const label = labels[i];
    if (label !== 0 && label !== 1) throw new RangeError(`labels[${i}] must be 0 or 1, got ${label}`);
    if (Number.isNaN(scores[i])) throw new RangeError(`scores[${i}] is NaN`);
  }
}
