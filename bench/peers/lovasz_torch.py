#!/usr/bin/env python3
"""PyTorch CPU peer for bench/lovasz.mjs: the reference Lovasz algorithms
(Berman et al.) restated in torch ops, single-threaded, timed with medians.

    python3 lovasz_torch.py DIR REPS

DIR holds the arrays bench/lovasz.mjs wrote (raw little-endian float32) and
spec.json naming them with their shapes:
  {"softmax": {"labels": file, "probs": file, "shape": [N, C, H, W]},
   "hinge": {"target": file, "logits": file, "shape": [N, H, W]}}
(either section may be absent). Prints one JSON object: per section the
median and every time in ms, the rep count and the loss value.
"""

import json
import os
import statistics
import sys
import time

import numpy as np
import torch


def jaccard_steps(fg_sorted):
    """Lovasz extension of the Jaccard loss: its increments along a sorted 0/1 vector."""
    total = fg_sorted.sum()
    inter = total - fg_sorted.cumsum(0)
    union = total + (1.0 - fg_sorted).cumsum(0)
    jac = 1.0 - inter / union
    if jac.numel() > 1:
        jac[1:] = jac[1:] - jac[:-1].clone()
    return jac


def softmax_loss(labels, probs):
    """Classes 'present', the flattened batch as one segment (perImage false)."""
    n, c = probs.shape[0], probs.shape[1]
    rows = probs.permute(1, 0, 2, 3).reshape(c, -1)  # class-major [C, N*H*W]
    flat = labels.reshape(-1)
    terms = []
    for k in range(c):
        fg = (flat == k).to(rows.dtype)
        if fg.sum() == 0:
            continue
        err = (fg - rows[k]).abs()
        err_sorted, order = torch.sort(err, descending=True)
        terms.append(torch.dot(err_sorted, jaccard_steps(fg[order])))
    return torch.stack(terms).mean() if terms else rows.sum() * 0.0


def hinge_loss(target, logits):
    """Per image (perImage true), mean over images."""
    losses = []
    for t, x in zip(target.reshape(target.shape[0], -1), logits.reshape(logits.shape[0], -1)):
        err = 1.0 - x * (2.0 * t - 1.0)
        err_sorted, order = torch.sort(err, descending=True)
        losses.append(torch.dot(torch.relu(err_sorted), jaccard_steps(t[order])))
    return torch.stack(losses).mean()


def load(directory, name, shape):
    return torch.from_numpy(np.fromfile(os.path.join(directory, name), dtype="<f4").reshape(shape))


def timed(fn, reps):
    value = float(fn())  # warm-up (and the value)
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return {"medianMs": statistics.median(times), "times": times, "reps": reps, "value": value}


def main():
    directory, reps = sys.argv[1], int(sys.argv[2])
    torch.set_num_threads(1)
    with open(os.path.join(directory, "spec.json")) as f:
        spec = json.load(f)
    out = {"torch": torch.__version__, "threads": torch.get_num_threads()}
    with torch.no_grad():
        if "softmax" in spec:
            s = spec["softmax"]
            n, c, h, w = s["shape"]
            labels = load(directory, s["labels"], [n, h, w])
            probs = load(directory, s["probs"], [n, c, h, w])
            out["softmax"] = timed(lambda: softmax_loss(labels, probs), reps)
        if "hinge" in spec:
            s = spec["hinge"]
            target = load(directory, s["target"], s["shape"])
            logits = load(directory, s["logits"], s["shape"])
            out["hinge"] = timed(lambda: hinge_loss(target, logits), reps)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
