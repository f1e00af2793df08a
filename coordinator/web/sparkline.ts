const SVG = 'http://www.w3.org/2000/svg';

/**
 * A tiny inline SVG line of the last probe latencies, drawn by hand: one polyline does not
 * need a charting library. Decorative (aria-hidden): the figure next to it says the same.
 */
export function sparkline(width = 80, height = 18): { el: SVGSVGElement; draw(values: number[]): void } {
  const el = document.createElementNS(SVG, 'svg');
  el.setAttribute('viewBox', `0 0 ${width} ${height}`);
  el.setAttribute('width', String(width));
  el.setAttribute('height', String(height));
  el.setAttribute('aria-hidden', 'true');
  el.setAttribute('class', 'spark');
  const line = document.createElementNS(SVG, 'polyline');
  el.append(line);
  return {
    el,
    draw(values: number[]) {
      if (values.length < 2) {
        line.setAttribute('points', '');
        return;
      }
      const top = Math.max(...values, 1);
      const step = width / (values.length - 1);
      const points = values.map((v, i) => `${(i * step).toFixed(1)},${(height - 1 - (v / top) * (height - 2)).toFixed(1)}`).join(' ');
      line.setAttribute('points', points);
    },
  };
}
