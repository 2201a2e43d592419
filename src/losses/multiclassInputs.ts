// Multi-class inputs (SPEC §2): predictions [N, C, ...spatial] ('NCHW') or
// [N, ...spatial, C] ('NHWC'); targets as integer labels [N, ...spatial]
// (a size-1 channel axis allowed) or dense (one-hot / soft) of the
// prediction's own shape and layout.
import { describe, fail } from "../errors";
import { isNumericArray, type NumericArray, toTensor } from "../tensor";

export type Layout = "NCHW" | "NHWC";

export interface MulticlassInputs {
  /** Images, classes, and pixels (voxels) per image. */
  N: number;
  C: number;
  S: number;
  layout: Layout;
  pred: Float32Array | Float64Array;
  predShape: number[];
  /** Integer labels, N·S of them (any numeric type), or null for a dense target. */
  labels: NumericArray | null;
  /** A dense target in the prediction's layout, N·C·S values in [0, 1], or null for labels. */
  dense: NumericArray | null;
}

const PRED_FORM = "[N, C, ...spatial] with layout 'NCHW' or [N, ...spatial, C] with layout 'NHWC' (rank ≥ 3)";

export function multiclassInputs(target: unknown, pred: unknown, o: { shape?: readonly number[]; layout: Layout }): MulticlassInputs {
  const pt = toTensor(pred, "pred", o.shape);
  if (!(pt.data instanceof Float32Array || pt.data instanceof Float64Array)) {
    fail("E_DTYPE", "pred", "a Float32Array or Float64Array of probabilities or logits", describe(pt.data));
  }
  const shape = pt.shape;
  if (shape.length < 3) fail("E_SHAPE", "pred", PRED_FORM, `[${shape.join(",")}]`);
  const N = shape[0];
  const nhwc = o.layout === "NHWC";
  const C = nhwc ? shape[shape.length - 1] : shape[1];
  const spatial = nhwc ? shape.slice(1, -1) : shape.slice(2);
  const S = spatial.reduce((a, b) => a * b, 1);
  const labelShape = [N, ...spatial];

  // A bare typed array target takes its shape from its length.
  let targetShape: readonly number[] | undefined;
  if (isNumericArray(target)) {
    if (target.length === N * S && target.length !== N * C * S) targetShape = labelShape;
    else if (target.length === N * C * S) targetShape = shape;
    else {
      fail(
        "E_SHAPE",
        "target",
        `${N * S} labels or ${N * C * S} dense values for a prediction of shape [${shape.join(",")}]`,
        `${target.length} elements`,
      );
    }
  }
  const tt = toTensor(target, "target", targetShape);
  const ts = tt.shape;
  const same = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((d, i) => d === b[i]);
  if (same(ts, shape)) return { N, C, S, layout: o.layout, pred: pt.data as Float32Array, predShape: shape, labels: null, dense: tt.data };
  const squeezed =
    ts.length === shape.length
      ? nhwc
        ? ts[ts.length - 1] === 1
          ? ts.slice(0, -1)
          : ts
        : ts[1] === 1
          ? [ts[0], ...ts.slice(2)]
          : ts
      : ts;
  if (!same(squeezed, labelShape)) {
    fail(
      "E_SHAPE",
      "target",
      `integer labels of shape [${labelShape.join(",")}] or a dense target of the prediction's shape [${shape.join(",")}] (layout '${o.layout}')`,
      `[${ts.join(",")}]`,
    );
  }
  return { N, C, S, layout: o.layout, pred: pt.data as Float32Array, predShape: shape, labels: tt.data, dense: null };
}
