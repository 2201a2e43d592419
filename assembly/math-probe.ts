// Test-only module: applies one function of ./math element-wise over float32
// arrays in (imported) linear memory. Used by test/math.test.ts; not part of
// the library build.
//
// kind:  0 log(x)   1 exp(x)   2 pow(x, y)   3 sigmoid(x)
//        4 softplusNeg(x) = ln(1+e^−|x|)     5 log1p(x)   6 softplus(x)
// kind + 16: the same function through the scalar twin for every element.
// Otherwise full groups of four go through the v128 form (when compiled with
// SIMD) and the 0–3 tail through the scalar form. y (in2Ptr) is read only by
// pow. Unknown kinds write nothing.

import {
	exp1,
	exp4,
	log1,
	log1p1,
	log1p4,
	log4,
	pow1,
	pow4,
	sigmoid1,
	sigmoid4,
	softplus1,
	softplus4,
	softplusNeg1,
	softplusNeg4,
} from "./math";

export function probe(
	kind: i32,
	inPtr: usize,
	in2Ptr: usize,
	outPtr: usize,
	n: i32,
): void {
	let i = 0;
	if (ASC_FEATURE_SIMD) {
		if (kind < 16) {
			for (; i + 4 <= n; i += 4) {
				const o = (<usize>i) << 2;
				const x = v128.load(inPtr + o);
				let r: v128;
				switch (kind) {
					case 0:
						r = log4(x);
						break;
					case 1:
						r = exp4(x);
						break;
					case 2:
						r = pow4(x, v128.load(in2Ptr + o));
						break;
					case 3:
						r = sigmoid4(x);
						break;
					case 4:
						r = softplusNeg4(x);
						break;
					case 5:
						r = log1p4(x);
						break;
					case 6:
						r = softplus4(x);
						break;
					default:
						return;
				}
				v128.store(outPtr + o, r);
			}
		}
	}
	const k = kind & 15;
	for (; i < n; i++) {
		const o = (<usize>i) << 2;
		const x = load<f32>(inPtr + o);
		let r: f32;
		switch (k) {
			case 0:
				r = log1(x);
				break;
			case 1:
				r = exp1(x);
				break;
			case 2:
				r = pow1(x, load<f32>(in2Ptr + o));
				break;
			case 3:
				r = sigmoid1(x);
				break;
			case 4:
				r = softplusNeg1(x);
				break;
			case 5:
				r = log1p1(x);
				break;
			case 6:
				r = softplus1(x);
				break;
			default:
				return;
		}
		store<f32>(outPtr + o, r);
	}
}
