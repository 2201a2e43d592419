// The meanIoU-against-threshold chart: a line on a canvas, with the seed's
// threshold range (0.50…0.95) shaded and the current threshold marked.

export function drawCurve(canvas: HTMLCanvasElement, thresholds: number[], values: ArrayLike<number>, marker: number): void {
  const ctx = canvas.getContext("2d")!;
  const W = canvas.width;
  const H = canvas.height;
  const L = 34;
  const R = 8;
  const T = 8;
  const B = 22;
  const x = (t: number) => L + t * (W - L - R);
  const y = (v: number) => T + (1 - v) * (H - T - B);
  ctx.clearRect(0, 0, W, H);
  ctx.fillStyle = "#fff";
  ctx.fillRect(0, 0, W, H);
  ctx.fillStyle = "#eef3fb";
  ctx.fillRect(x(0.5), T, x(0.95) - x(0.5), H - T - B);
  ctx.strokeStyle = "#bbb";
  ctx.fillStyle = "#555";
  ctx.font = "10px sans-serif";
  ctx.lineWidth = 1;
  ctx.beginPath();
  for (const v of [0, 0.5, 1]) {
    ctx.moveTo(L, y(v));
    ctx.lineTo(W - R, y(v));
    ctx.fillText(v.toFixed(1), 4, y(v) + 3);
  }
  for (const t of [0, 0.25, 0.5, 0.75, 1]) ctx.fillText(String(t), x(t) - 6, H - 6);
  ctx.stroke();
  ctx.strokeStyle = "#d33";
  ctx.beginPath();
  ctx.moveTo(x(marker), T);
  ctx.lineTo(x(marker), H - B);
  ctx.stroke();
  ctx.strokeStyle = "#1f5fbf";
  ctx.lineWidth = 2;
  ctx.beginPath();
  thresholds.forEach((t, i) => {
    if (i === 0) ctx.moveTo(x(t), y(values[i]));
    else ctx.lineTo(x(t), y(values[i]));
  });
  ctx.stroke();
  ctx.fillStyle = "#1f5fbf";
  thresholds.forEach((t, i) => {
    ctx.fillRect(x(t) - 2, y(values[i]) - 2, 4, 4);
  });
}
