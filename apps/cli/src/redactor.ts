/** Shorter strings would scrub ordinary words out of the output; no real secret is that short. */
const MIN_SECRET_LENGTH = 3;

/** Replaces every known secret in text written out with `***`. */
export class Redactor {
  private secrets: string[] = [];

  add(values: Iterable<string>): void {
    const all = new Set([...this.secrets, ...values]);
    this.secrets = [...all].filter((s) => s.length >= MIN_SECRET_LENGTH).sort((a, b) => b.length - a.length);
  }

  redact(text: string): string {
    let out = text;
    for (const secret of this.secrets) if (out.includes(secret)) out = out.split(secret).join('***');
    return out;
  }

  /**
   * JSON with secrets scrubbed from every string value (so escaping cannot hide one), and
   * bigints (a driver's int8) as decimal text instead of the TypeError JSON.stringify throws.
   */
  json(value: unknown): string {
    return JSON.stringify(value, (_key, v: unknown) => {
      if (typeof v === 'string') return this.secrets.length === 0 ? v : this.redact(v);
      return typeof v === 'bigint' ? v.toString() : v;
    });
  }
}
