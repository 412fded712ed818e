import type { Random } from '../../random/index.js';

/** Side of the square on which customers and terminals are placed, as in the book. */
export const MAP_SIZE = 100;

/**
 * Customer and terminal profiles of one simulation, as flat typed arrays indexed by id.
 * The terminals a customer can use are stored in CSR form: those of customer `c` are
 * `availableTerminals[terminalOffsets[c] .. terminalOffsets[c + 1])`, in increasing id order.
 */
export interface SimulatorProfiles {
  readonly nCustomers: number;
  readonly nTerminals: number;
  readonly customerX: Float64Array;
  readonly customerY: Float64Array;
  /** Mean transaction amount, U(5, 100). */
  readonly meanAmount: Float64Array;
  /** Standard deviation of the amount, `meanAmount / 2`. */
  readonly stdAmount: Float64Array;
  /** Mean number of transactions per day (before the time-of-day cut), U(0, 4). */
  readonly meanTxPerDay: Float64Array;
  readonly terminalX: Float64Array;
  readonly terminalY: Float64Array;
  /** CSR offsets into {@link availableTerminals}, length `nCustomers + 1`. */
  readonly terminalOffsets: Int32Array;
  /** Terminal ids within the radius of each customer, concatenated. */
  readonly availableTerminals: Int32Array;
}

/**
 * Draws customer and terminal profiles (book steps 1-3) and links each customer to the
 * terminals strictly within `radius`. The radius search buckets terminals into a grid of
 * `radius`-sized cells so that each customer only looks at its 3 x 3 neighbourhood.
 */
export function generateProfiles(
  nCustomers: number,
  nTerminals: number,
  radius: number,
  rng: Random,
): SimulatorProfiles {
  const customerX = new Float64Array(nCustomers);
  const customerY = new Float64Array(nCustomers);
  const meanAmount = new Float64Array(nCustomers);
  const stdAmount = new Float64Array(nCustomers);
  const meanTxPerDay = new Float64Array(nCustomers);
  for (let c = 0; c < nCustomers; c++) {
    customerX[c] = rng.uniform(0, MAP_SIZE);
    customerY[c] = rng.uniform(0, MAP_SIZE);
    const mean = rng.uniform(5, 100);
    meanAmount[c] = mean;
    stdAmount[c] = mean / 2;
    meanTxPerDay[c] = rng.uniform(0, 4);
  }
  const terminalX = new Float64Array(nTerminals);
  const terminalY = new Float64Array(nTerminals);
  for (let t = 0; t < nTerminals; t++) {
    terminalX[t] = rng.uniform(0, MAP_SIZE);
    terminalY[t] = rng.uniform(0, MAP_SIZE);
  }
  const { terminalOffsets, availableTerminals } = linkTerminals(
    customerX,
    customerY,
    terminalX,
    terminalY,
    radius,
  );
  return {
    nCustomers,
    nTerminals,
    customerX,
    customerY,
    meanAmount,
    stdAmount,
    meanTxPerDay,
    terminalX,
    terminalY,
    terminalOffsets,
    availableTerminals,
  };
}

function linkTerminals(
  customerX: Float64Array,
  customerY: Float64Array,
  terminalX: Float64Array,
  terminalY: Float64Array,
  radius: number,
): { terminalOffsets: Int32Array; availableTerminals: Int32Array } {
  const nCustomers = customerX.length;
  const nTerminals = terminalX.length;
  const cellsPerSide = Math.max(1, Math.min(1024, Math.floor(MAP_SIZE / radius)));
  const cellSize = MAP_SIZE / cellsPerSide;
  const nCells = cellsPerSide * cellsPerSide;
  const cellOf = (x: number, y: number): number => {
    const cx = Math.min(cellsPerSide - 1, Math.floor(x / cellSize));
    const cy = Math.min(cellsPerSide - 1, Math.floor(y / cellSize));
    return cy * cellsPerSide + cx;
  };

  // Counting sort of terminals by cell; ids stay increasing inside each cell.
  const cellStart = new Int32Array(nCells + 1);
  const terminalCell = new Int32Array(nTerminals);
  for (let t = 0; t < nTerminals; t++) {
    const cell = cellOf(terminalX[t]!, terminalY[t]!);
    terminalCell[t] = cell;
    cellStart[cell + 1]!++;
  }
  for (let i = 0; i < nCells; i++) cellStart[i + 1]! += cellStart[i]!;
  const fill = cellStart.slice(0, nCells);
  const cellTerminals = new Int32Array(nTerminals);
  for (let t = 0; t < nTerminals; t++) cellTerminals[fill[terminalCell[t]!]!++] = t;

  // Cells are at least `radius` wide, so the 3 x 3 block around a customer covers its disc.
  const r2 = radius * radius;
  const reach = Math.ceil(radius / cellSize);
  const terminalOffsets = new Int32Array(nCustomers + 1);
  let found = new Int32Array(Math.max(16, nCustomers * 8));
  let total = 0;
  for (let c = 0; c < nCustomers; c++) {
    const x = customerX[c]!;
    const y = customerY[c]!;
    const cx = Math.min(cellsPerSide - 1, Math.floor(x / cellSize));
    const cy = Math.min(cellsPerSide - 1, Math.floor(y / cellSize));
    const begin = total;
    for (let gy = Math.max(0, cy - reach); gy <= Math.min(cellsPerSide - 1, cy + reach); gy++) {
      for (let gx = Math.max(0, cx - reach); gx <= Math.min(cellsPerSide - 1, cx + reach); gx++) {
        const cell = gy * cellsPerSide + gx;
        for (let k = cellStart[cell]!; k < cellStart[cell + 1]!; k++) {
          const t = cellTerminals[k]!;
          const dx = terminalX[t]! - x;
          const dy = terminalY[t]! - y;
          if (dx * dx + dy * dy < r2) {
            if (total === found.length) {
              const grown = new Int32Array(found.length * 2);
              grown.set(found);
              found = grown;
            }
            found[total++] = t;
          }
        }
      }
    }
    // Neighbouring cells are visited row by row, so restore id order as the book lists them.
    found.subarray(begin, total).sort();
    terminalOffsets[c + 1] = total;
  }
  return { terminalOffsets, availableTerminals: found.slice(0, total) };
}
