/**
 * A minimal Prometheus text-format writer. Each upstream formats numbers its own way
 * (Python's prometheus_client prints `3.0`, TGI prints `3`, llama.cpp streams doubles through
 * a C++ ostream: six significant digits, so `4666.67` and `1.2e+06`), and agents must parse
 * them all.
 */
export type Labels = Record<string, string>;
export type NumberStyle = 'python' | 'plain' | 'iostream';

export class PromText {
  private readonly lines: string[] = [];

  constructor(private readonly style: NumberStyle) {}

  /** `samples` is one unlabelled value, or [labels, value] pairs; `suffixed` adds histogram-style _sum/_count lines */
  add(name: string, type: 'counter' | 'gauge' | 'histogram', help: string | undefined, samples: Array<[Labels | undefined, number]> | number, suffixed: Array<[string, Labels | undefined, number]> = []): this {
    if (help !== undefined) this.lines.push(`# HELP ${name} ${help}`);
    this.lines.push(`# TYPE ${name} ${type}`);
    const list: Array<[Labels | undefined, number]> = typeof samples === 'number' ? [[undefined, samples]] : samples;
    for (const [labels, value] of list) this.lines.push(`${name}${formatLabels(labels)} ${this.num(value)}`);
    for (const [suffix, labels, value] of suffixed) this.lines.push(`${name}${suffix}${formatLabels(labels)} ${this.num(value)}`);
    return this;
  }

  toString(): string {
    return `${this.lines.join('\n')}\n`;
  }

  private num(value: number): string {
    if (this.style === 'iostream') return ostreamDouble(value);
    if (value === Infinity) return '+Inf';
    if (this.style === 'python' && Number.isInteger(value)) return value.toFixed(1);
    return String(Number.isInteger(value) ? value : +value.toFixed(6));
  }
}

function formatLabels(labels: Labels | undefined): string {
  if (!labels || Object.keys(labels).length === 0) return '';
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`);
  return `{${parts.join(',')}}`;
}

/** What `std::ostream << double` prints with the default flags: `%g` at precision 6. */
export function ostreamDouble(value: number): string {
  if (Number.isNaN(value)) return 'nan';
  if (!Number.isFinite(value)) return value < 0 ? '-inf' : 'inf';
  if (value === 0) return Object.is(value, -0) ? '-0' : '0';
  const [mantissa, exp] = value.toExponential(5).split('e') as [string, string];
  const exponent = Number(exp);
  if (exponent < -4 || exponent >= 6) {
    return `${trimFraction(mantissa)}e${exponent < 0 ? '-' : '+'}${String(Math.abs(exponent)).padStart(2, '0')}`;
  }
  return trimFraction(value.toFixed(5 - exponent));
}

function trimFraction(text: string): string {
  return text.includes('.') ? text.replace(/0+$/, '').replace(/\.$/, '') : text;
}
