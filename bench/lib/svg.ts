/** A plain horizontal bar chart as SVG text: one group of bars per label, no dependencies. */
export interface Bar {
  label: string;
  value: number;
  note?: string;
}

export function barChart(title: string, unit: string, bars: Bar[]): string {
  const rowH = 22;
  const left = 230;
  const width = 760;
  const plotW = width - left - 130;
  const max = Math.max(1e-9, ...bars.map((b) => (Number.isFinite(b.value) ? b.value : 0)));
  const height = 40 + bars.length * rowH + 10;
  const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  const fmt = (v: number) => (v >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(2));
  const rows = bars
    .map((b, i) => {
      const y = 36 + i * rowH;
      const w = Number.isFinite(b.value) ? (plotW * b.value) / max : 0;
      return (
        `<text x="${left - 8}" y="${y + 14}" text-anchor="end">${esc(b.label)}</text>` +
        `<rect x="${left}" y="${y + 2}" width="${w.toFixed(1)}" height="${rowH - 6}" fill="${b.label.startsWith('hubcast') ? '#2b6cb0' : '#a0aec0'}"/>` +
        `<text x="${left + w + 6}" y="${y + 14}">${fmt(b.value)} ${esc(unit)}${b.note ? ` ${esc(b.note)}` : ''}</text>`
      );
    })
    .join('\n');
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">\n` +
    `<title>${esc(title)}</title>\n<rect width="100%" height="100%" fill="white"/>\n<text x="10" y="20" font-size="14" font-weight="bold">${esc(title)}</text>\n${rows}\n</svg>\n`
  );
}

/** Charts from barChart one below the other, as one SVG titled `title`. */
export function stackCharts(title: string, charts: string[]): string {
  let y = 0;
  let width = 0;
  const parts = charts.map((svg) => {
    const w = Number(/width="(\d+)"/.exec(svg)?.[1] ?? 0);
    const h = Number(/height="(\d+)"/.exec(svg)?.[1] ?? 0);
    const part = svg.replace('<svg ', `<svg y="${y}" `);
    y += h;
    width = Math.max(width, w);
    return part;
  });
  const esc = title.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y}">\n<title>${esc}</title>\n${parts.join('')}</svg>\n`;
}
