/**
 * Per-class statistics of the ULB/Kaggle credit-card file, used by the synthetic source.
 *
 * Generated once from `data/creditcard-class-stats.json` (a copy of the project's
 * `shared/data/creditcard-class-stats.json`), because `tsc` does not copy JSON files into
 * `dist`. To regenerate, print the JSON as a TypeScript literal, e.g.
 * `node -p "JSON.stringify(require('./src/sources/data/creditcard-class-stats.json'), null, 1)"`,
 * paste it below and run biome; `test/sources/creditcard-class-stats.test.ts` fails while the
 * two differ.
 */

/** Mean and standard deviation of every column for one class, in {@link CreditcardClassStats.columns} order. */
export interface CreditcardColumnMoments {
  readonly mean: readonly number[];
  readonly std: readonly number[];
}

/** The shape of `creditcard-class-stats.json`. */
export interface CreditcardClassStats {
  /** Where the numbers come from and how reliable they are. */
  readonly source: string;
  readonly rows: number;
  readonly frauds: number;
  /** `Time`, `V1`..`V28`, `Amount`. */
  readonly columns: readonly string[];
  /** `'0'`: genuine, `'1'`: fraud. */
  readonly classes: { readonly '0': CreditcardColumnMoments; readonly '1': CreditcardColumnMoments };
  /** Columns whose fraud-class standard deviation is an estimate rather than a published figure. */
  readonly estimated_fraud_std?: readonly string[];
}

/** The statistics of the real file: per-class means and standard deviations (no correlations or quantiles). */
export const CREDITCARD_CLASS_STATS: CreditcardClassStats = {
  source:
    'Per-class means of the ULB/Kaggle creditcard.csv (284,807 rows, 492 frauds) from public notebook printouts; normal-class standard deviations derived with the pooled-variance identity; fraud-class V10-V20 standard deviations are estimates (no public printout found).',
  rows: 284807,
  frauds: 492,
  columns: [
    'Time',
    'V1',
    'V2',
    'V3',
    'V4',
    'V5',
    'V6',
    'V7',
    'V8',
    'V9',
    'V10',
    'V11',
    'V12',
    'V13',
    'V14',
    'V15',
    'V16',
    'V17',
    'V18',
    'V19',
    'V20',
    'V21',
    'V22',
    'V23',
    'V24',
    'V25',
    'V26',
    'V27',
    'V28',
    'Amount',
  ],
  classes: {
    '0': {
      mean: [
        94838.202258, 0.008258, -0.006271, 0.012171, -0.00786, 0.005453, 0.002419, 0.009637, -0.000987,
        0.004467, 0.009824, -0.006576, 0.010832, 0.000189, 0.012064, 0.000161, 0.007164, 0.011535, 0.003887,
        -0.001178, -0.000644, -0.001235, -2.4e-5, 7e-5, 0.000182, -7.2e-5, -8.9e-5, -0.000295, -0.000131,
        88.291022,
      ],
      std: [
        47484.015786, 1.929776, 1.636118, 1.459415, 1.399355, 1.356867, 1.329937, 1.178742, 1.161262,
        1.089329, 1.044194, 1.00308, 0.945935, 0.995099, 0.896967, 0.915042, 0.84475, 0.749311, 0.824921,
        0.811687, 0.769364, 0.716682, 0.723661, 0.621574, 0.605728, 0.520693, 0.482213, 0.399805, 0.329585,
        250.105092,
      ],
    },
    '1': {
      mean: [
        80746.806911, -4.771948, 3.623778, -7.033281, 4.542029, -3.151225, -1.397737, -5.568731, 0.570636,
        -2.581123, -5.676883, 3.800173, -6.259393, -0.109334, -6.971723, -0.092929, -4.139946, -6.665836,
        -2.246308, 0.680659, 0.372319, 0.713588, 0.014049, -0.040308, -0.10513, 0.041449, 0.051648, 0.170575,
        0.075667, 122.211321,
      ],
      std: [
        47835.365138, 6.783687, 4.291216, 7.110937, 2.873318, 5.372468, 1.858124, 7.206773, 6.797831,
        2.500896, 4.9, 2.68, 4.65, 1.1, 4.28, 1.05, 3.87, 6.97, 2.9, 1.54, 1.35, 3.869304, 1.494602, 1.579642,
        0.515577, 0.797205, 0.471679, 1.376766, 0.547291, 256.683288,
      ],
    },
  },
  estimated_fraud_std: ['V10', 'V11', 'V12', 'V13', 'V14', 'V15', 'V16', 'V17', 'V18', 'V19', 'V20'],
};
